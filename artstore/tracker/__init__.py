"""Run tracker: arrives with the tracker issue."""

__all__: list[str] = []
