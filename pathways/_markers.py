"""The pluggy markers, apart from the plugin manager so that plugins (built-in ones too) import
only these: `@hookimpl` marks an implementation, `@hookspec` a specification."""

import pluggy

hookspec = pluggy.HookspecMarker("pathways")
hookimpl = pluggy.HookimplMarker("pathways")
