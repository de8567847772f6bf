"""Browser sessions and the bounded pool that trains for them.

Every tab creates a session (a random id) and keeps its own trainers, one per explorer
section, so tabs never see each other's state.  Playing runs the trainer on a worker
thread of a pool of ``max_trainings`` threads; a play beyond that is refused (HTTP 429)
instead of queued.  Training only runs while the session's event stream is open: when
the last stream of a session closes (the tab went away), its trainings stop.  Sessions
with no stream are dropped after ``idle_seconds`` of silence.
"""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from weightlab._json import to_json as _strict_json
from weightlab._validate import error_summary
from weightlab.lab.errors import LabError
from weightlab.lab.schemas import Setup
from weightlab.lab.sections import SECTIONS
from weightlab.lab.trainer import Trainer
from weightlab.models.budget import require_memory

__all__ = ["MORE_STEPS", "Lab", "Session", "to_json"]

MORE_STEPS = 20  # a frame takes at most this many times steps_per_frame more steps


def to_json(value: Any) -> str:
    """Strict JSON text (non-finite floats become ``"inf"``, ``"-inf"``, ``"nan"``)."""
    return _strict_json(value)


class Session:
    """One tab's state: a trainer per section, what is playing, and the latest frames."""

    def __init__(self, session_id: str, client: str | None = None) -> None:
        self.id = session_id
        self.client = client  # the address that made it (None: not known)
        self.lock = threading.RLock()  # held while a trainer steps or draws
        self.trainers: dict[str, Trainer] = {}
        self.generation: dict[str, int] = dict.fromkeys(SECTIONS, 0)
        self.playing: dict[str, tuple[threading.Event, Future[None]]] = {}
        self.streams = 0
        self.streams_lock = threading.Lock()  # never held long: the event loop takes it
        self.last_seen = time.monotonic()
        self._frames: dict[str, tuple[int, str]] = {}
        self._version = 0
        self._frames_lock = threading.Lock()

    def trainer(self, section: str) -> Trainer:
        """The section's trainer, or a 409 saying to set it up first."""
        trainer = self.trainers.get(section)
        if trainer is None:
            raise LabError(
                409,
                f"The {section} section of this session has no setup yet: "
                f"PUT /api/sessions/{self.id}/{section} first.",
                "section",
            )
        return trainer

    def frame(self, section: str, *, full: bool = False) -> dict[str, Any]:
        """The section's frame with the session's bookkeeping added."""
        with self.lock:
            frame = self.trainer(section).frame(full=full)
        frame["generation"] = self.generation[section]
        frame["running"] = section in self.playing
        return frame

    def publish(self, section: str, message: dict[str, Any]) -> None:
        """Make ``message`` the section's latest event for the stream."""
        text = to_json(message)
        with self._frames_lock:
            self._version += 1
            self._frames[section] = (self._version, text)

    def events_since(self, seen: dict[str, int]) -> list[str]:
        """Latest events of each section newer than ``seen`` (updated in place)."""
        with self._frames_lock:
            fresh = [(s, v, t) for s, (v, t) in self._frames.items() if seen.get(s, 0) < v]
        for section, version, _ in fresh:
            seen[section] = version
        return [text for _, _, text in fresh]


class Lab:
    """The session registry and the training pool."""

    def __init__(
        self,
        *,
        max_sessions: int = 32,
        max_trainings: int = 4,
        idle_seconds: float = 600.0,
        frame_seconds: float = 0.1,
        step_seconds: float = 10.0,
        max_client_sessions: int | None = None,
    ) -> None:
        self.max_sessions = max_sessions
        # One client (one browser, one script) may hold a quarter of the sessions, so
        # it cannot take every slot for the ten minutes an idle session lives.
        self.max_client_sessions = max_client_sessions or max(1, max_sessions // 4)
        self.max_trainings = max_trainings
        self.idle_seconds = idle_seconds
        self.frame_seconds = frame_seconds
        self.step_seconds = step_seconds
        self.sessions: dict[str, Session] = {}
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max_trainings)
        self._pool = ThreadPoolExecutor(max_trainings, thread_name_prefix="weightlab-lab")

    # -- sessions ------------------------------------------------------------------------

    def create(self, client: str | None = None) -> Session:
        """A new session for ``client`` (its address; None when unknown); idle ones are
        dropped first, and a full registry, or a client at its share of it, is a 429."""
        self._drop_idle()
        with self._lock:
            if len(self.sessions) >= self.max_sessions:
                raise LabError(
                    429,
                    f"The lab already has {self.max_sessions} open sessions (its limit): "
                    "close a tab or try again later.",
                )
            held = sum(1 for s in self.sessions.values() if client and s.client == client)
            if client and held >= self.max_client_sessions:
                raise LabError(
                    429,
                    f"This client already has {held} open sessions (the limit per client): "
                    "close a tab, DELETE a session, or try again when one has been idle "
                    f"for {self.idle_seconds:g} s.",
                )
            session = Session(secrets.token_urlsafe(16), client)
            self.sessions[session.id] = session
        return session

    def get(self, session_id: str) -> Session:
        """The session with this id, or a 404."""
        session = self.sessions.get(session_id)
        if session is None:
            raise LabError(
                404,
                f"No session {session_id!r}: it expired or never existed "
                "(POST /api/sessions makes one).",
                "session_id",
            )
        session.last_seen = time.monotonic()
        return session

    def close(self, session: Session) -> None:
        """Stop the session's trainings and forget it."""
        self.stop_all(session, wait=True)
        with self._lock:
            self.sessions.pop(session.id, None)

    def _drop_idle(self) -> None:
        now = time.monotonic()
        idle = [
            s
            for s in list(self.sessions.values())
            if s.streams == 0 and now - s.last_seen > self.idle_seconds
        ]
        for session in idle:
            self.close(session)

    def attach(self, session: Session) -> None:
        """An event stream of the session opened."""
        with session.streams_lock:
            session.streams += 1
            session.last_seen = time.monotonic()

    def detach(self, session: Session) -> None:
        """An event stream closed; with none left, the session's trainings stop."""
        with session.streams_lock:
            session.streams -= 1
            session.last_seen = time.monotonic()
            last = session.streams == 0
        if last:
            self.stop_all(session, wait=False)

    # -- trainers ------------------------------------------------------------------------

    def configure(self, session: Session, section: str, setup: Setup) -> dict[str, Any]:
        """Take on ``setup``: a setup that differs from the current one only in live
        settings (the section's ``live_fields``: learning rate, batch size, step limit,
        a term's parameters) is applied to the running training, which goes on from its
        step; any other change builds the section's trainer anew at step 0 (pausing it
        first).  A setup whose networks would not fit in the free memory is refused
        (422) before anything is built."""
        owner = str(setup.model_config.get("title"))
        if setup.widths is None:
            require_memory(
                owner, "width", setup.width, setup.memory(), context=f" at depth {setup.depth}"
            )
        else:
            require_memory(owner, "widths", setup.widths, setup.memory())
        with session.lock:
            current = session.trainers.get(section)
            if current is not None and type(current.setup) is type(setup):
                live, structural = current.setup.changes(setup)
                if not structural:
                    current.apply(setup)
                    frame = session.frame(section, full=True)
                    frame["applied"] = {"live": live, "reset": False}
                    return frame
        frame = self._rebuild(session, section, setup)
        frame["applied"] = {"live": [], "reset": True}
        return frame

    def _rebuild(self, session: Session, section: str, setup: Setup) -> dict[str, Any]:
        """A new trainer for the section at step 0, the old one paused first."""
        self.pause(session, section)
        trainer = SECTIONS[section].build(setup)
        self.pause(session, section)  # in case a play slipped in while it was built
        with session.lock:
            session.trainers[section] = trainer
            session.generation[section] += 1
        return session.frame(section, full=True)

    def reset(self, session: Session, section: str) -> dict[str, Any]:
        """Back to step 0: the same setup, so the same data, init and batch order."""
        return self._rebuild(session, section, session.trainer(section).setup)

    def step(self, session: Session, section: str, steps: int) -> dict[str, Any]:
        """Take ``steps`` steps of a paused trainer (fewer if they take longer than
        ``step_seconds``); stepping holds a training slot like playing does."""
        with session.lock:
            trainer = session.trainer(section)
            if section in session.playing:
                raise LabError(409, f"The {section} training is playing: pause it first.")
            _check_can_train(trainer)
            self._take_slot()
            try:
                trainer.run(steps, seconds=self.step_seconds)
            finally:
                self._slots.release()
        return session.frame(section)

    def _take_slot(self) -> None:
        if not self._slots.acquire(blocking=False):
            raise LabError(
                429,
                f"All {self.max_trainings} training slots are busy: pause another "
                "training or try again later.",
            )

    def play(self, session: Session, section: str, steps_per_frame: int) -> dict[str, Any]:
        """Train on a pool thread, publishing a frame about every ``frame_seconds``."""
        with session.lock:
            trainer = session.trainer(section)
            if section in session.playing:
                return {"section": section, "running": True}
            if session.streams == 0:
                raise LabError(
                    409,
                    f"Open the session's event stream (GET /api/sessions/{session.id}/events) "
                    "before playing: training runs only while someone watches it.",
                )
            _check_can_train(trainer)
            self._take_slot()
            stop = threading.Event()
            try:
                future = self._pool.submit(self._loop, session, section, stop, steps_per_frame)
            except RuntimeError:  # the pool is shutting down
                self._slots.release()
                raise LabError(503, "The lab is shutting down.") from None
            session.playing[section] = (stop, future)
        return {"section": section, "running": True}

    def pause(self, session: Session, section: str) -> None:
        """Stop the section's training and wait until its thread has let go."""
        with session.lock:
            playing = session.playing.get(section)
        if playing is not None:
            playing[0].set()
            playing[1].result(timeout=60)

    def stop_all(self, session: Session, *, wait: bool) -> None:
        """Stop every training of the session, waiting for them when ``wait``."""
        with session.lock:
            playing = list(session.playing.values())
        for stop, _ in playing:
            stop.set()
        if wait:
            for _, future in playing:
                future.result(timeout=60)

    @property
    def trainings(self) -> int:
        """Trainings playing now, over all sessions."""
        return sum(len(s.playing) for s in list(self.sessions.values()))

    def _loop(self, session: Session, section: str, stop: threading.Event, steps: int) -> None:
        """Step, draw, publish, until stopped, done or diverged; the last frame says
        what stopped it when that was an error."""
        error = None
        try:
            while not stop.is_set():
                started = time.monotonic()
                with session.lock:
                    trainer = session.trainers[section]
                    trainer.run(steps)
                    # Small networks step in a millisecond: train on while the steps take
                    # under half the frame interval, so drawing does not hold them back.
                    budget = started + self.frame_seconds / 2
                    extra = 0
                    while time.monotonic() < budget and extra < MORE_STEPS * steps:
                        trainer.run(steps)
                        extra += steps
                    frame = session.frame(section)
                if trainer.status != "ready":
                    break
                session.publish(section, frame)
                stop.wait(max(0.0, self.frame_seconds - (time.monotonic() - started)))
        except Exception as exc:  # reported on the stream; the loop must not die silently
            error = f"Training stopped: {error_summary(exc)}"
        finally:
            with session.lock:
                session.playing.pop(section, None)
            self._slots.release()
            self._publish_last(session, section, error)

    @staticmethod
    def _publish_last(session: Session, section: str, error: str | None) -> None:
        """The frame a stopped training ends on, so the page shows it paused."""
        try:
            last = session.frame(section)
        except Exception as exc:
            last = {"section": section, "running": False}
            error = error or f"Training stopped: {error_summary(exc)}"
        if error is not None:
            last["error"] = error
        session.publish(section, last)

    def shutdown(self) -> None:
        """Stop every training and the pool."""
        for session in list(self.sessions.values()):
            self.stop_all(session, wait=False)
        self._pool.shutdown(wait=True, cancel_futures=True)


def _check_can_train(trainer: Trainer) -> None:
    if trainer.status == "done":
        raise LabError(
            409,
            f"The training reached its step limit ({trainer.setup.max_steps}): reset it "
            "or raise max_steps.",
        )
    if trainer.status == "diverged":
        raise LabError(409, "The training diverged (its loss is not finite): reset it.")
