"""Built-in curation filters, one plugin module each (registered in `DEFAULT_PLUGINS`)."""
