"""Well-kept third-party libraries, under the names competition code imports (``crunch.external.humanfriendly``)."""
