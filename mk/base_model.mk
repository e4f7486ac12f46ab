# mk/base_model.mk — `make base-model`: rebuild models/accent-base (the
# project's multilingual base) from nothing with tools/base_model.sh:
# synthesize 12 languages, ingest, train in two phases, export, evaluate.
# About an hour on 2 cores; resumable (run it again after a kill).  Work
# files in base-work/ (BASE_WORK), the model in models/accent-base
# (BASE_OUT); see docs/BASE_MODEL.md for the recipe and its measurements.
.PHONY: base-model
base-model: deps all
	BINDIR=$(BINDIR) sh tools/base_model.sh
