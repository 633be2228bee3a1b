"""Built-in evaluation tasks, each module a plugin registered like an installed one."""
