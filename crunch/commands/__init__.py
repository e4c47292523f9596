"""One use case per module. Each exposes ``run(settings=..., console=..., **options)``."""
