"""The console scripts (setup.py's entry points), one module each, thin over the modules of
`pipelines/` and `runtime/`; nothing imports this package."""
