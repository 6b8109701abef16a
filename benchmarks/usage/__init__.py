"""Usage metering at scale: a synthetic request-log generator and the importer's benchmark."""
