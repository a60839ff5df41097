"""The base every layer stands on: the catalog and each compression method's facts, the one way anything comes
from the Hub (fetch), the model store and checksums/ (store, ledger), the results layout and score record (results),
chat templates (prompts), provenance, settings (the one place the environment is read), the typed errors, intervals
(confidence), the metrics (dimensions), the pins, path guards, fault injection and the libraries' log (liblog).
Its modules import one another and nothing above them (pyproject.toml's import-linter contracts)."""
