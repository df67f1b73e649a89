"""One reader per delivery kind; each yields `Delivered` records and never holds a whole extract."""
