"""Put, alias set and alias remove in random order, checked against a dict model."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from artstore.artifacts import Artifact, Store
from artstore.errors import NotFoundError

NAMES = st.sampled_from(["a", "b"])
ALIASES = st.sampled_from(["prod", "staging", "candidate"])
CONTENTS = st.sampled_from([b"", b"one", b"two", b"three"])


class StoreModel(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.tmp = Path(tempfile.mkdtemp(prefix="artstore-stateful-"))
        self.store = Store.init(str(self.tmp / "store"))
        self.versions: dict[str, list[bytes]] = {}  # name -> content of v0, v1, ...
        self.aliases: dict[str, dict[str, int]] = {}  # name -> alias -> number
        self.moves: dict[tuple[str, str], list[tuple[int | None, int | None]]] = {}

    def teardown(self) -> None:
        self.store.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def _move(self, name: str, alias: str, to: int | None) -> None:
        current = self.aliases[name].get(alias)
        if current == to:
            return
        self.moves.setdefault((name, alias), []).append((current, to))
        if to is None:
            del self.aliases[name][alias]
        else:
            self.aliases[name][alias] = to

    @rule(name=NAMES, content=CONTENTS, alias=st.none() | ALIASES)
    def put(self, name, content, alias):
        artifact = Artifact(name, "data")
        with artifact.new_file("f.bin", mode="wb") as f:
            f.write(content)
        version = self.store.log_artifact(artifact, [alias] if alias else [])
        history = self.versions.setdefault(name, [])
        self.aliases.setdefault(name, {})
        unchanged = bool(history) and history[-1] == content
        if not unchanged:
            history.append(content)
        assert version.created is not unchanged
        assert version.number == len(history) - 1
        self._move(name, "latest", version.number)
        if alias:
            self._move(name, alias, version.number)

    @precondition(lambda self: self.versions)
    @rule(data=st.data(), alias=ALIASES)
    def set_alias(self, data, alias):
        name = data.draw(st.sampled_from(sorted(self.versions)))
        number = data.draw(st.integers(0, len(self.versions[name]) - 1))
        self.store.set_alias(f"{name}:v{number}", alias)
        self._move(name, alias, number)

    @precondition(lambda self: self.versions)
    @rule(data=st.data(), alias=ALIASES)
    def remove_alias(self, data, alias):
        name = data.draw(st.sampled_from(sorted(self.versions)))
        if alias in self.aliases[name]:
            self.store.remove_alias(name, alias)
            self._move(name, alias, None)
        else:
            try:
                self.store.remove_alias(name, alias)
            except NotFoundError:
                pass
            else:
                raise AssertionError(f"removed {alias} that {name} does not have")

    @invariant()
    def matches_model(self):
        for name, history in self.versions.items():
            versions = self.store.versions(name)
            assert [v.number for v in versions] == list(range(len(history)))
            on = {a: v.number for v in versions for a in v.aliases}
            assert sum(len(v.aliases) for v in versions) == len(on)  # one version per alias
            assert on == self.aliases[name]
            assert on["latest"] == len(history) - 1
            for alias in ("latest", "prod", "staging", "candidate"):
                moves = [
                    (m.from_number, m.to_number) for m in self.store.alias_history(name, alias)
                ]
                assert moves == self.moves.get((name, alias), [])


TestStoreModel = StoreModel.TestCase
TestStoreModel.settings = settings(
    max_examples=15, stateful_step_count=12, deadline=None, database=None
)
