"""The demo behind ``make demo``: a production-like source and an empty sandbox, cloned end to end.

Starts two emulators as child processes on 127.0.0.1 — the source with the demo organisation and its
solution (``--demo --production``), the target a freshly refreshed sandbox of the same organisation
(``--records 0 --with-connections``: reference data, the solution's components as a copy leaves them, and
one connection per connector) — runs :func:`seeder.clone.clone` between them with the shipped masking
rules, and stops both. Nothing leaves the machine.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from seeder.clone import CloneOptions, CloneReport, clone
from seeder.dataverse import AuthConfig, Environment
from seeder.errors import SeederError

__all__ = ["DEMO_MASK_KEY", "DemoResult", "run_demo", "spawn_emulator"]

DEMO_MASK_KEY = b"seeder-demo-masking-key-not-for-production-use"
"""A fixed, public key so the demo's masked output is reproducible. Real runs take SEEDER_MASK_KEY."""
RULES = Path(__file__).resolve().parent.parent / "masking_rules" / "default.yaml"


@dataclass
class DemoResult:
    source_url: str
    target_url: str
    report: CloneReport


@contextmanager
def spawn_emulator(*args: str, timeout: float = 120.0) -> Iterator[str]:
    """Run ``seeder emulator serve ARGS`` in a child process; yield its URL; stop it on exit."""
    cmd = [sys.executable, "-m", "seeder", "emulator", "serve", "--host", "127.0.0.1", "--port", "0", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("listening on "):
            proc.kill()
            _, stderr = proc.communicate(timeout=timeout)
            raise SeederError(f"the emulator did not start: {line or stderr.strip()[-500:]}")
        yield line.removeprefix("listening on ").strip()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_demo(*, records: int = 2000, seed: int = 7, workdir: Path | None = None,
             progress: Callable[[str, str], None] | None = None) -> DemoResult:
    """Clone a demo production organisation into an empty sandbox and return the clone's report."""
    say = progress or (lambda _e, _t: None)
    with ExitStack() as stack:
        work = workdir or Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="seeder-demo-")))
        say("stage", f"starting the source emulator (demo organisation, about {records} records)")
        source_url = stack.enter_context(spawn_emulator("--demo", "--records", str(records), "--seed", str(seed),
                                                        "--production"))
        say("stage", "starting the target emulator (an empty, freshly refreshed sandbox)")
        target_url = stack.enter_context(spawn_emulator("--demo", "--records", "0", "--seed", str(seed),
                                                        "--with-connections"))
        none = AuthConfig(method="none")
        source = stack.enter_context(Environment.connect(source_url, none))
        target = stack.enter_context(Environment.connect(target_url, none))
        options = CloneOptions(workdir=work, rules=RULES, mask_key=DEMO_MASK_KEY)
        report = clone(source, target, options, progress=say)
        return DemoResult(source_url=source_url, target_url=target_url, report=report)
