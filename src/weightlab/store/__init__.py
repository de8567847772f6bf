"""The SQLite run store."""

from weightlab.store.sqlite import DEFAULT_STORE, RunRecord, Store, owner_id

__all__ = ["DEFAULT_STORE", "RunRecord", "Store", "owner_id"]
