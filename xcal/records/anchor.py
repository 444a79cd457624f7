"""Anchors: the chain's head (entry number and hash) and the store's id, signed with the site's Ed25519 key.

A chain checks only itself: whoever can write the store can edit an entry and recompute every later hash, or cut
off the newest entries. An anchor fixes the head at a moment with a signature nobody without the site key can
make. Each anchor is also appended to the chain as an `anchor` entry (store-level, run_id ''), so later anchors
and verify find it; exported to a file (`xcal anchor --out FILE`) it lets an inspector check the store later.

The site key is a PEM file (PKCS#8, unencrypted, mode 0600) at XCAL_SITE_KEY, else `site-key.pem` in the user
config folder (platformdirs), created on first use. The store id is a random id made by the store's first anchor
and repeated by every later one, so an anchor of one store never vouches for another.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import RecordError
from .chain import ANCHOR, GENESIS, canonical
from .models import now_utc

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

    from .store import Store

KEY_ENV = "XCAL_SITE_KEY"
ANCHOR_FIELDS = ("store_id", "seq", "head", "at", "key")
_DOMAIN = b"xcal anchor v1\n"
_SEAL_DOMAIN = b"xcal signature v1\n"


def key_path(path: str | os.PathLike[str] | None = None) -> Path:
    """Where the site key lives: `path`, else XCAL_SITE_KEY, else site-key.pem in the user config folder."""
    if path:
        return Path(path)
    if os.environ.get(KEY_ENV, "").strip():
        return Path(os.environ[KEY_ENV].strip())
    from platformdirs import user_config_dir

    return Path(user_config_dir("xcal", appauthor=False)) / "site-key.pem"


def _crypto() -> Any:
    try:
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ed25519
    except ImportError:
        raise RecordError("anchors need the `cryptography` package, which is not installed",
                          fix="pip install 'cryptography>=41'") from None
    return serialization, ed25519


@dataclass(frozen=True)
class SiteKey:
    """The site's signing key and where it was read from."""

    private: Ed25519PrivateKey
    path: Path

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.public)

    def sign(self, message: bytes) -> str:
        return base64.b64encode(self.private.sign(message)).decode("ascii")

    def public_pem(self) -> str:
        serialization, _ = _crypto()
        return self.public.public_bytes(serialization.Encoding.PEM,
                                        serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def fingerprint(public: Ed25519PublicKey) -> str:
    """'sha256:' and the hex sha256 of the raw 32-byte public key: how an anchor names the key that signed it."""
    serialization, _ = _crypto()
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def site_key(path: str | os.PathLike[str] | None = None, *, create: bool = True) -> SiteKey:
    """The site key, created (mode 0600, in a new folder if need be) when it does not exist and `create`."""
    serialization, ed25519 = _crypto()
    where = key_path(path)
    if not where.exists():
        if not create:
            raise RecordError(f"there is no site key at {where}",
                              fix=f"run `xcal anchor` once to create it, or set {KEY_ENV} to the site key file")
        private = ed25519.Ed25519PrivateKey.generate()
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        try:
            where.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(where, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as out:
                out.write(pem)
        except FileExistsError:
            pass  # another process made it first: read theirs
        except OSError as exc:
            raise RecordError(f"cannot create the site key {where}: {exc.strerror}",
                              fix=f"make {where.parent} writable, or set {KEY_ENV} to a writable path") from None
        else:
            return SiteKey(private, where)
    if os.name == "posix" and where.stat().st_mode & 0o077:
        raise RecordError(f"the site key {where} can be read by other users (mode {where.stat().st_mode & 0o777:o})",
                          fix=f"chmod 600 {where}")
    try:
        private = serialization.load_pem_private_key(where.read_bytes(), password=None)
    except (OSError, ValueError, TypeError) as exc:
        raise RecordError(f"cannot read the site key {where}: {exc}",
                          fix="restore the site key file from its backup; without it no new anchor can be made") \
            from None
    if not isinstance(private, ed25519.Ed25519PrivateKey):
        raise RecordError(f"the site key {where} is not an Ed25519 key", fix=f"point {KEY_ENV} at the site key")
    return SiteKey(private, where)


def public_key(path: str | os.PathLike[str]) -> Ed25519PublicKey:
    """An Ed25519 public key from a PEM file (`xcal anchor --public-key`'s output, or the site key itself)."""
    serialization, ed25519 = _crypto()
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise RecordError(f"cannot read the public key {path}: {exc.strerror}",
                          fix="give the file `xcal anchor --public-key` printed at the site") from None
    try:
        key: Any = serialization.load_pem_public_key(data)
    except ValueError:
        try:
            key = serialization.load_pem_private_key(data, password=None).public_key()
        except (ValueError, TypeError):
            key = None
    if not isinstance(key, ed25519.Ed25519PublicKey):
        raise RecordError(f"{path} holds no Ed25519 public key",
                          fix="give the file `xcal anchor --public-key` printed at the site")
    return key


def check_signature(public: Ed25519PublicKey, message: bytes, signature: str) -> bool:
    """Whether `signature` (base64) is the key's signature of `message`."""
    from cryptography.exceptions import InvalidSignature

    try:
        public.verify(base64.b64decode(signature, validate=True), message)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


@dataclass(frozen=True)
class Anchor:
    """A signed head: store id, the entry number and hash it vouches for, when, the key's fingerprint, signature."""

    store_id: str
    seq: int
    head: str
    at: str
    key: str
    signature: str

    def message(self) -> bytes:
        return _DOMAIN + canonical({n: getattr(self, n) for n in ANCHOR_FIELDS}).encode("utf-8")

    def holds(self, public: Ed25519PublicKey) -> bool:
        """Whether the signature is `public`'s over these fields (and the key named is that key)."""
        return self.key == fingerprint(public) and check_signature(public, self.message(), self.signature)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"


def from_payload(data: Any, where: str) -> Anchor:
    """An Anchor from its JSON object; a RecordError naming `where` when a field is missing or of the wrong type."""
    try:
        fields = {n: data[n] for n in ANCHOR_FIELDS + ("signature",)}
        if not isinstance(fields["seq"], int) or not all(isinstance(fields[n], str) for n in fields if n != "seq"):
            raise TypeError
    except (KeyError, TypeError):
        raise RecordError(f"{where} is not an xcal anchor: it needs {', '.join(ANCHOR_FIELDS + ('signature',))}",
                          fix="give the file `xcal anchor --out FILE` wrote") from None
    return Anchor(**fields)


def read_anchor(path: str | os.PathLike[str]) -> Anchor:
    """The anchor in a file written by `xcal anchor --out`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise RecordError(f"cannot read the anchor file {path}: {exc.strerror}",
                          fix="give the path of the file `xcal anchor --out FILE` wrote") from None
    except ValueError:
        data = None
    return from_payload(data, f"the anchor file {path}")


def store_id(store: Store) -> str | None:
    """The store's id: the one its first anchor entry made, or None before the first anchor."""
    for row in store.select("SELECT payload FROM entries WHERE run_id = '' AND kind = ? ORDER BY seq LIMIT 1",
                            (ANCHOR,)):
        try:
            return str(json.loads(row[0])["store_id"])
        except (ValueError, KeyError, TypeError):
            return None
    return None


def latest(store: Store) -> tuple[int, Anchor] | None:
    """The newest anchor entry of the chain: its seq and the anchor it holds (None when there is none)."""
    for row in store.select("SELECT seq, payload FROM entries WHERE run_id = '' AND kind = ? ORDER BY seq DESC "
                            "LIMIT 1", (ANCHOR,)):
        try:
            return int(row[0]), from_payload(json.loads(row[1]), f"anchor entry {row[0]}")
        except (ValueError, RecordError):
            return None
    return None


def anchor_store(store: Store, key: SiteKey) -> Anchor:
    """Sign the chain's head with the site key and append the anchor as an entry; returns the anchor.

    The anchor vouches for the entry before its own entry (the head at that moment, or entry 0 of an empty chain).
    """
    with store._write() as tx:  # one transaction: no entry can slip between the head read and the anchor entry
        row = tx.execute("SELECT seq, hash FROM entries ORDER BY seq DESC LIMIT 1").fetchone()
        seq, head = (int(row[0]), row[1]) if row else (0, GENESIS)
        found = tx.execute("SELECT payload FROM entries WHERE run_id = '' AND kind = ? ORDER BY seq LIMIT 1",
                           (ANCHOR,)).fetchone()
        ident = _id_of(found[0]) if found else uuid.uuid4().hex
        unsigned = Anchor(ident, seq, head, now_utc(), key.fingerprint, "")
        anchor = Anchor(**{**asdict(unsigned), "signature": key.sign(unsigned.message())})
        tx.append(ANCHOR, "", asdict(anchor))
    return anchor


def _id_of(payload: str) -> str:
    try:
        return str(json.loads(payload)["store_id"])
    except (ValueError, KeyError, TypeError):
        raise RecordError("the store's first anchor entry holds no store id; it was edited outside xcal",
                          fix="run `xcal verify` and restore the store from a backup") from None


def seal_message(run_id: str, meaning: str, name: str, run_hash: str, seq: int, head: str, store: str,
                 account: str | None = None) -> bytes:
    """What the site key signs for a person's signature: the run, the meaning, the name, the signer's account
    (only when there is one, so signatures made without accounts keep their message), the run hash and the chain
    head (entry number, hash, store id) the signature was made at."""
    signed = {"run_id": run_id, "meaning": meaning, "name": name, "run_hash": run_hash,
              "anchor": {"seq": seq, "head": head, "store_id": store}}
    if account:
        signed["account"] = account
    return _SEAL_DOMAIN + canonical(signed).encode("utf-8")


class Checkpoints:
    """Checks, during verify's walk of the chain, every anchor and sealed signature against the entries before
    them, and an anchor file against the chain; `problems` holds (seq, reason) pairs, lowest seq first found.

    An entry edited and every later hash recomputed still fails here: the signed head no longer matches what the
    anchored entry's content hashes to. The break is named from the last anchored entry that still holds.
    """

    def __init__(self, public: Ed25519PublicKey | None, outside: Anchor | None = None,
                 since: tuple[int, str, str] | None = None) -> None:
        """`since` (verify --since-anchor): the entry the walk starts at, the prev_hash it stores, the store id."""
        self.public, self.outside = public, outside
        self.key = fingerprint(public) if public is not None else None
        self.problems: list[tuple[int | None, str]] = []
        self.store_id: str | None = since[2] if since else None
        self.first_anchor: Any = None
        self.first_where = "the newest anchor" if since else ""
        self.last_good, self.first_after = (since[0] - 1 if since else 0), None
        self.prev: tuple[int, str] = (since[0] - 1, since[1]) if since else (0, GENESIS)
        self.outside_hash: str | None = None
        self.outside_seq = outside.seq if outside is not None else None
        self.last_seq = 0

    watched = frozenset({ANCHOR, "signature"})
    """The kinds `see` must be shown. Of the other entries it needs only the first after a checkpoint that held
    (`first_after` is None then) and the anchor file's (`outside_seq`); the walk skips the rest."""

    def see(self, entry: Any, recomputed: str, prev: tuple[int, str] | None = None) -> None:
        """Take an entry of the chain (in seq order) with the hash its content calls for; `prev`, the entry number
        and recomputed hash of the entry before it, when the entries between were skipped."""
        if prev is not None:
            self.prev = prev
        if self.first_after is None and entry.seq > self.last_good:
            self.first_after = entry
        if entry.kind == ANCHOR:
            self._anchor(entry)
        elif entry.kind == "signature":
            self._seal(entry)
        if self.outside is not None and entry.seq == self.outside.seq:
            self.outside_hash = recomputed
        self.prev, self.last_seq = (entry.seq, recomputed), entry.seq

    def _rewritten(self, seq: int, head: str, signed: str, at: str, by: str) -> None:
        first = self.first_after
        where = first.label() if first is not None and first.seq <= seq else f"entry {seq}"
        self.problems.append((first.seq if first is not None and first.seq <= seq else seq,
                              f"{where} or a later entry up to entry {seq} was rewritten after it was anchored: "
                              f"entry {seq} now hashes to {head[:16]}..., but {by} signed {signed[:16]}... at {at}"))

    def _held(self, seq: int) -> None:
        if seq >= self.last_good:
            self.last_good, self.first_after = seq, None

    def _anchor(self, entry: Any) -> None:
        try:
            anchor = from_payload(json.loads(entry.payload), entry.label())
        except (ValueError, RecordError) as exc:
            self.problems.append((entry.seq, getattr(exc, "message", f"{entry.label()}: its payload is not JSON")))
            return
        if self.store_id is None:
            self.store_id, self.first_anchor, self.first_where = anchor.store_id, entry, entry.label()
        elif anchor.store_id != self.store_id:
            self.problems.append((entry.seq, f"{entry.label()}: it names store {anchor.store_id}, but "
                                             f"{self.first_where} made it {self.store_id}"))
        if self.public is not None and not anchor.holds(self.public):
            named = "" if anchor.key == self.key else f" (it names key {anchor.key}: for a store of another site, " \
                                                        f"give that site's --public-key FILE)"
            self.problems.append((entry.seq, f"{entry.label()}: its signature does not hold for the site key "
                                             f"{self.key}{named}; the anchor was forged or edited"))
            return
        if anchor.seq != self.prev[0]:
            self.problems.append((entry.seq, f"{entry.label()}: it vouches for entry {anchor.seq}, not the entry "
                                             f"before it ({self.prev[0]}); entries were moved or removed here"))
        elif anchor.head != self.prev[1]:
            self._rewritten(anchor.seq, self.prev[1], anchor.head, anchor.at, f"the site key ({entry.label()})")
        else:
            self._held(entry.seq)

    def _seal(self, entry: Any) -> None:
        try:
            data = json.loads(entry.payload)
            seal, at = data.get("seal"), data.get("anchor")
        except (ValueError, AttributeError):
            return  # the projection pass names a payload that is not an object
        if seal is None:
            if self.store_id is not None:
                self.problems.append((entry.seq, f"{entry.label()}: it carries no site-key seal, yet the store was "
                                                 f"anchored before it ({self.first_where}); it was not "
                                                 f"made by `xcal sign`"))
            return
        try:
            message = seal_message(entry.run_id, data["meaning"], data["name"], data["run_hash"], at["seq"],
                                   at["head"], at["store_id"], data.get("account"))
        except (KeyError, TypeError):
            self.problems.append((entry.seq, f"{entry.label()}: its seal lacks the head it was made at"))
            return
        if self.public is not None and not check_signature(self.public, message, seal):
            self.problems.append((entry.seq, f"{entry.label()}: its site-key seal does not hold for what it "
                                             f"records (run, meaning, name, account, run hash, head); it was forged, "
                                             f"edited or moved"))
        elif at["seq"] != self.prev[0] or (self.store_id is not None and at["store_id"] != self.store_id):
            self.problems.append((entry.seq, f"{entry.label()}: it was made at entry {at['seq']} of store "
                                             f"{at['store_id']}, not here; the signature was moved"))
        elif at["head"] != self.prev[1]:
            self._rewritten(at["seq"], self.prev[1], at["head"], entry.at, f"the seal of {entry.label()}")
        elif self.public is not None:
            self._held(entry.seq)

    def finish(self, last_seq: int | None = None) -> None:
        """Hold the chain against the anchor file, once every entry has been seen (`last_seq`: the last one)."""
        if last_seq is not None:
            self.last_seq = last_seq
        outside = self.outside
        if outside is None:
            return
        if self.store_id != outside.store_id and (self.store_id is not None or self.last_seq >= outside.seq):
            where = self.first_anchor.label() if self.first_anchor is not None else "the store"
            has = f"has store id {self.store_id}" if self.store_id else "has no anchor, so no store id"
            self.problems.append((self.first_anchor.seq if self.first_anchor is not None else None,
                                  f"{where} {has}, but the anchor is of store {outside.store_id} made at "
                                  f"{outside.at}: this is not the store the anchor was made for"))
        elif self.last_seq < outside.seq:
            self.problems.append((self.last_seq + 1, f"entry {self.last_seq + 1} is missing: the anchor of "
                                                     f"{outside.at} vouches for entry {outside.seq}, but the chain "
                                                     f"ends at entry {self.last_seq}; its tail was cut off"))
        elif outside.seq and self.outside_hash != outside.head:
            self._rewritten(outside.seq, self.outside_hash or "", outside.head, outside.at,
                            "the anchor file's site key")
