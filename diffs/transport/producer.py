"""The lean publish path: an ordinary Celery task message, sent through a long-lived producer.

``app.send_task`` costs about 600 µs per call on a small machine: it routes the task, builds a
repr of its arguments, fires signals, reads a dozen settings (each a chain of lookups through
Django's settings) and takes a producer from a pool. A batch of diffs always goes to the same
task on the same queue, so this module builds the message itself -- Celery's protocol 2: the
headers, properties and ``[args, kwargs, embed]`` body ``send_task`` would produce, as JSON --
and hands it to a kombu ``Producer`` whose connection lives as long as the process. Workers
consume it like any other task message.

* Any kombu transport works. The message goes to the queue's name on the default exchange,
  which is how Celery itself sends to a direct queue, after declaring the app's own ``Queue``
  for it once per connection.
* A publish waits at most ``timeout`` seconds for the broker and never retries: an error closes
  that connection (the next publish opens a new one) and reaches the caller as
  :class:`PublishFailed`, whatever the transport raised.
* Producers are pooled (:class:`ProducerPool`, one per runtime: :mod:`diffs.transport.runtime`),
  one per concurrently publishing thread, and read the app's broker settings when they connect,
  as Celery's own producer pool does; a change of any Django setting (``override_settings``)
  closes the idle ones. A forked child never uses, closes or collects its parent's
  connections: it makes a runtime, and opens connections, of its own.
"""

from __future__ import annotations

import contextlib
import threading
import uuid
from typing import Any

from celery.utils.nodenames import anon_nodename
from kombu import Connection, Producer, Queue

from ..wire import dumps


class PublishFailed(Exception):
    """The broker did not take a message; ``__cause__`` is what the transport raised."""


#: Per-transport options that bound each socket operation; ``connect_timeout`` covers the rest.
_TIMEOUT_OPTIONS = {
    "redis": ("socket_timeout", "socket_connect_timeout"),
    "amqp": ("read_timeout", "write_timeout"),
}
#: The third element of a protocol-2 body: no callbacks, errbacks, chain or chord.
_NO_WORKFLOW = {"callbacks": None, "errbacks": None, "chain": None, "chord": None}


class TaskProducer:
    """One broker connection and its producer; used by one thread at a time."""

    def __init__(self, app: Any, timeout: float) -> None:
        self.app = app
        self.timeout = timeout
        self.origin = anon_nodename()
        self.default_delivery_mode = app.conf.task_default_delivery_mode
        self.connection = _bounded_connection(app, timeout)
        self.producer: Producer | None = None
        self.queues: dict[str, Queue] = {}  # declared on this connection

    def publish(self, task: str, args: list[Any], queue_name: str, argsrepr: str) -> str:
        """Send one message that runs ``task(*args)`` on a worker; return the task id."""
        producer = self.producer
        if producer is None:
            self.connection.ensure_connection(max_retries=0)
            channel = self.connection.default_channel
            _reuse_redis_clients(channel)
            producer = self.producer = Producer(channel, auto_declare=False)
        queue = self.queues.get(queue_name)
        if queue is None:
            queue = self.app.amqp.queues[queue_name]
            queue(producer.channel).declare()
            self.queues[queue_name] = queue
        task_id = str(uuid.uuid4())
        producer.publish(
            dumps([args, {}, _NO_WORKFLOW]),
            exchange="",
            routing_key=queue_name,
            headers=self.headers(task, task_id, argsrepr),
            content_type="application/json",
            content_encoding="utf-8",
            delivery_mode=queue.exchange.delivery_mode or self.default_delivery_mode,
            correlation_id=task_id,
            reply_to="",
            retry=False,
            timeout=self.timeout,
        )
        return task_id

    def headers(self, task: str, task_id: str, argsrepr: str) -> dict[str, Any]:
        """Return the protocol-2 headers of a plain call whose result nobody keeps."""
        return {
            "lang": "py",
            "task": task,
            "id": task_id,
            "shadow": None,
            "eta": None,
            "expires": None,
            "group": None,
            "group_index": None,
            "retries": 0,
            "timelimit": [None, None],
            "root_id": task_id,
            "parent_id": None,
            "argsrepr": argsrepr,
            "kwargsrepr": "{}",
            "origin": self.origin,
            "ignore_result": True,
            "replaced_task_nesting": 0,
            "stamped_headers": None,
            "stamps": {},
        }

    def close(self) -> None:
        """Close the connection, ignoring errors: it is being thrown away."""
        with contextlib.suppress(Exception):  # a broken connection may fail to close
            self.connection.release()


def _bounded_connection(app: Any, timeout: float) -> Connection:
    """Return a (lazy) connection to the app's broker whose every wait ends within ``timeout``."""
    connection: Connection = app.connection_for_write(connect_timeout=timeout)
    bounded = _TIMEOUT_OPTIONS.get(connection.transport.driver_type, ())
    options: Any = connection.transport_options  # a dict once made (the class says None)
    options.update(dict.fromkeys(bounded, timeout))
    return connection


def delete_queue(app: Any, name: str, timeout: float) -> None:
    """Delete the queue ``name`` from the app's broker, messages and all, with its exchange.

    Declared first: kombu's virtual transports (Redis among them) delete only what was declared
    on the same channel. Raises what the transport raises.
    """
    with _bounded_connection(app, timeout) as connection:
        connection.ensure_connection(max_retries=0)
        queue = app.amqp.queues[name](connection.default_channel)
        queue.declare()
        queue.delete()
        queue.exchange.delete()


def _reuse_redis_clients(channel: Any) -> None:
    """Make kombu's Redis channel reuse one client per connection pool.

    Its ``_put`` builds a new ``redis.Redis`` for every message, which costs about 110 µs with
    redis-py 8, about as much as the LPUSH round trip itself. A client keeps no state of its own
    (connections come from the pool), so reusing it changes nothing but the cost. Channels of
    other transports have no ``Client`` factory and are left alone.
    """
    make = getattr(channel, "Client", None)
    if not callable(make):
        return
    made: dict[tuple[int, int], Any] = {}

    def client(**kwargs: Any) -> Any:
        key = (id(kwargs.get("connection_pool")), id(kwargs.get("credential_provider")))
        found = made.get(key)
        if found is None:
            found = made[key] = make(**kwargs)
        return found

    channel.Client = client


class ProducerPool:
    """The idle producers of one runtime, per app and timeout, and its cached eager flags.

    One producer per concurrently publishing thread: a thread takes one, publishes, and puts
    it back. A forked child makes a runtime (and a pool) of its own, so it never uses, closes
    or collects its parent's connections.
    """

    def __init__(self) -> None:
        self._idle: dict[tuple[int, float], list[TaskProducer]] = {}
        self._eager: dict[int, tuple[Any, int, Any, bool]] = {}
        self._generation = 0
        self._lock = threading.Lock()

    def send_task(self, app: Any, task: str, args: list[Any], queue_name: str, timeout: float,
                  argsrepr: str) -> str:
        """Publish ``task(*args)`` to ``queue_name`` through a pooled producer; return its id.

        Raises ``PublishFailed`` (from whatever the transport raised); the producer is closed.
        """
        key = (id(app), timeout)
        idle = self._idle.get(key)
        if idle is None:
            with self._lock:
                idle = self._idle.setdefault(key, [])
        try:
            producer = idle.pop()
        except IndexError:
            try:
                producer = TaskProducer(app, timeout)
            except Exception as exc:
                raise PublishFailed(f"{type(exc).__name__}: {exc}") from exc
        try:
            task_id = producer.publish(task, args, queue_name, argsrepr)
        except Exception as exc:
            producer.close()
            raise PublishFailed(f"{type(exc).__name__}: {exc}") from exc
        except BaseException:
            producer.close()
            raise
        idle.append(producer)
        return task_id

    def always_eager(self, app: Any) -> bool:
        """Return ``app.conf.task_always_eager``, read again only when the configuration changed.

        One lookup of a Celery setting walks a chain of mappings, Django's settings among them,
        and costs about 30 µs here. The answer is kept with the app's runtime change of that one
        setting (``app.conf.task_always_eager = ...``) and is read again when that differs or
        :meth:`close_idle` ran (a Django setting changed). (Copying all runtime changes is not
        safe: under ``override_settings`` that mapping lists keys it cannot look up.)
        """
        conf = app.conf
        runtime = conf.changes.get("task_always_eager")
        known = self._eager.get(id(app))
        if (known is not None and known[0] is conf and known[1] == self._generation
                and known[2] == runtime):
            return bool(known[3])
        eager = bool(conf.task_always_eager)
        self._eager[id(app)] = (conf, self._generation, runtime, eager)
        return eager

    def close_idle(self) -> None:
        """Close every idle producer; the next publish connects afresh and reads Celery's
        settings again (a Django setting changed, or the runtime is closing)."""
        self._generation += 1
        with self._lock:
            pools = list(self._idle.values())
            self._idle.clear()
        for pool in pools:
            for producer in pool:
                producer.close()
