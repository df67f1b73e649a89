"""frictionflow: the shared logic of the customer-context and friction warehouse.

DAG files only wire tasks together; everything they call lives here: settings, the embedded
warehouse, source contracts, extraction and loading, the sandbox company, the quality gate and
publication.
"""
