"""``samestory serve``: the HTTP API (JSON under ``/api/``) and the web page (at ``/``).

:func:`create_app` builds the FastAPI application over one store directory;
:func:`run` serves it with uvicorn. Endpoints (OpenAPI docs at ``/docs``):

- ``GET /api/health``: status, version, article and story counts;
- ``POST /api/articles``: add articles (a JSON list or object of article
  records, a multipart file upload in any supported format, or a raw body in
  any format), cleaned and clustered into the store's stories; guarded by the
  API token when one is configured (``Authorization: Bearer TOKEN``);
- ``GET /api/articles/{id}``: one stored article;
- ``GET /api/stories``: stories, paged, newest / biggest / oldest first,
  filtered by date range, source, language and text;
- ``GET /api/stories/{id}``: one story with its view (:mod:`samestory.storyview`);
- ``POST /api/compare``: the verdict on two articles (given, or stored ids).

Writes go through one SQLite connection behind a lock (serialized, and a
failed batch is rolled back whole, so stored data is never lost). Reads use a
connection of their own per worker thread: in WAL mode they see the last
commit and never wait for a write, so the service keeps answering reads while
a large upload is ingested.
"""

from __future__ import annotations

import datetime as dt
import hmac
import json
import os
import threading
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, Literal, Optional

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from . import __version__
from .article import Article
from .errors import InputError, SamestoryError
from .ingest.source import Limits
from .timeout import DEFAULT_SECONDS

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
#: Largest request body accepted (bytes), unless create_app is told otherwise.
DEFAULT_MAX_BODY = 20 * 1024 * 1024
#: Environment variable holding the API token when --token is not given.
TOKEN_ENV = "SAMESTORY_TOKEN"
WEB_DIR = Path(__file__).resolve().parent / "web"
#: Headers of the web page: its own script and styles only, no inline script or event handlers, no framing.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
                               "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class ApiError(Exception):
    """An error answered as ``{"error": message}`` with an HTTP status."""

    def __init__(self, status: int, message: str, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.headers = status, message, headers


class _BodyLimit:
    """ASGI middleware: refuse request bodies over ``limit`` bytes with 413 (by Content-Length, or while reading)."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        too_big = JSONResponse({"error": f"request body is over the limit of {self.limit} bytes"}, status_code=413)
        if length is not None:
            try:
                if int(length) > self.limit:
                    return await too_big(scope, receive, send)
            except ValueError:
                return await JSONResponse({"error": "bad Content-Length header"}, status_code=400)(scope, receive, send)
        seen = 0
        started = False

        async def counted_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooBig()
            return message

        async def tracked_send(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except _TooBig:
            if not started:
                await too_big(scope, receive, send)


class _TooBig(Exception):
    pass


class CompareRequest(BaseModel):
    """Two articles to compare: records (``a``, ``b``) or the ids of stored ones (``a_id``, ``b_id``)."""

    a: Optional[dict[str, Any]] = Field(None, description="Article record: title, text (or html), date, source, url, lang")
    b: Optional[dict[str, Any]] = Field(None, description="Article record")
    a_id: Optional[str] = Field(None, description="Id of a stored article (instead of a)")
    b_id: Optional[str] = Field(None, description="Id of a stored article (instead of b)")
    clean: bool = Field(True, description="Clean given records first (stored articles are clean already)")
    model: Literal["accurate", "balanced", "fast"] = "accurate"


class _State:
    """The open store, its clusterer (made on the first write) and the lock around both."""

    def __init__(self, store_dir: Path, limits: Limits = Limits()):
        from .store import Store

        self.store_dir = store_dir
        #: Size and time limits per document of what requests bring (the time limit also bounds cleaning).
        self.limits = limits
        self.store = Store(store_dir)
        self.lock = threading.RLock()
        self._clusterer = None
        self._scorers: dict[str, Any] = {}
        self._readers = threading.local()

    def reader(self):
        """This thread's own connection to the store, for reads: in WAL mode it sees the last commit and never waits for a write."""
        from .store import Store

        store = getattr(self._readers, "store", None)
        if store is None:
            store = self._readers.store = Store(self.store_dir, create=False)
        return store

    @contextmanager
    def snapshot(self):
        """This thread's read connection inside one read transaction: every query sees the same commit."""
        store = self.reader()
        store.db.execute("BEGIN")
        try:
            yield store
        finally:
            store.db.execute("COMMIT")

    def clusterer(self):
        from .cluster import ClusterConfig, StoryClusterer, store_embedder

        if self._clusterer is None:  # on the embedder the store's stories were made with
            self._clusterer = StoryClusterer(self.store, ClusterConfig(embedder=store_embedder(self.store) or ClusterConfig.embedder))
        return self._clusterer

    def scorer(self, model: str):
        from .scorer import Scorer

        with self.lock:
            if model not in self._scorers:
                self._scorers[model] = Scorer(model)
            return self._scorers[model]


def create_app(store_dir: str | os.PathLike[str], token: str | None = None, max_body_bytes: int = DEFAULT_MAX_BODY,
               doc_timeout: float | None = DEFAULT_SECONDS) -> FastAPI:
    """The samestory web application over the store in ``store_dir`` (created when new).

    ``token``: when given, ``POST /api/articles`` needs ``Authorization: Bearer TOKEN``.
    ``max_body_bytes``: larger request bodies are refused with 413.
    ``doc_timeout``: seconds one uploaded document may take to extract, and again to clean
    (None or 0: no limit); one over it is reported among the request's errors.
    """
    state = _State(Path(store_dir), Limits(max_seconds=doc_timeout or None))
    app = FastAPI(
        title="samestory",
        version=__version__,
        description="Find the news articles that tell the same story: add articles, read stories and their views, compare two articles.",
    )
    app.state.samestory = state
    app.add_middleware(_BodyLimit, limit=max_body_bytes)

    # --- errors: always JSON {"error": ...}, never a bare 500 on bad input -------------------------------

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return JSONResponse({"error": exc.message}, status_code=exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError):
        problems = []
        for e in exc.errors():
            where = ".".join(str(x) for x in e.get("loc", ()) if x != "body") or "body"
            problems.append(f"{where}: {e.get('msg', 'invalid')}")
        return JSONResponse({"error": "invalid request: " + "; ".join(problems),
                             "detail": json.loads(json.dumps(exc.errors(), default=str))}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404 and message == "Not Found":
            message = f"no such page: {request.url.path}"
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception):
        return JSONResponse({"error": f"internal error ({type(exc).__name__}); the store is unchanged"}, status_code=500)

    def require_token(request: Request) -> None:
        if not token:
            return
        given = request.headers.get("authorization", "")
        scheme, _, value = given.partition(" ")
        if not given:
            raise ApiError(401, "this endpoint needs the API token: send 'Authorization: Bearer TOKEN'",
                           {"WWW-Authenticate": "Bearer"})
        if scheme.lower() != "bearer" or not hmac.compare_digest(value.strip().encode(), token.encode()):
            raise ApiError(401, "wrong API token", {"WWW-Authenticate": "Bearer"})

    # --- API ---------------------------------------------------------------------------------------------

    @app.get("/api/health", tags=["service"], summary="Is the service up; what the store holds")
    def health() -> dict:
        articles, stories = state.reader().db.execute(
            "SELECT (SELECT COUNT(*) FROM articles), (SELECT COUNT(*) FROM stories WHERE merged_into IS NULL)").fetchone()
        return {"status": "ok", "version": __version__, "store": str(state.store_dir), "articles": articles, "stories": stories}

    @app.post("/api/articles", tags=["articles"], dependencies=[Depends(require_token)],
              summary="Add articles: JSON records, a multipart file upload, or a raw file body (any supported format)",
              openapi_extra={"requestBody": {"content": {
                  "application/json": {"schema": {"oneOf": [{"type": "array", "items": {"type": "object"}}, {"type": "object"}]}},
                  "multipart/form-data": {"schema": {"type": "object", "properties": {
                      "file": {"type": "array", "items": {"type": "string", "format": "binary"}}, "format": {"type": "string"}}}},
                  "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}})
    async def add_articles(request: Request, clean: bool = Query(True, description="Clean the articles first"),
                           format: str = Query("auto", description="Input format of a raw or uploaded file (auto: from the content)"),
                           filename: str = Query("upload", description="Name of a raw body (for error messages and the reader)")):
        from .ingest import FORMATS

        if format != "auto" and format not in FORMATS:
            raise ApiError(422, f"format {format!r} is not one of auto, {', '.join(FORMATS)}")
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        # Reading, extraction and cleaning run in a worker thread (_run_locked), never in the event
        # loop: a slow page must not stop the service answering other requests.
        if ctype == "multipart/form-data":
            try:
                form = await request.form()
            except Exception as exc:
                raise ApiError(400, f"cannot read the multipart form: {exc}") from None
            files = [v for _, v in form.multi_items() if hasattr(v, "read")]
            if not files:
                raise ApiError(422, "the form holds no file: send the articles as a 'file' field")
            fmt = form.get("format") if isinstance(form.get("format"), str) else format
            if fmt != "auto" and fmt not in FORMATS:
                raise ApiError(422, f"format {fmt!r} is not one of auto, {', '.join(FORMATS)}")
            uploads = [(await upload.read(), upload.filename or "upload", fmt) for upload in files]
        else:
            body = await request.body()
            if not body.strip():
                raise ApiError(400, "empty body: send article records as JSON, or a file")
            if ctype in ("application/json", "text/json") or (not ctype and body.lstrip()[:1] in (b"[", b"{")):
                return await _run_locked(_add_json, state, body, clean)
            uploads = [(body, filename, format)]
        return await _run_locked(_add_files, state, uploads, clean)

    # ":path": ids may hold slashes (feed entries use their guid, often a URL), sent URL-encoded or not.
    @app.get("/api/articles/{article_id:path}", tags=["articles"], summary="One stored article")
    def get_article(article_id: str) -> dict:
        with state.snapshot():
            article = _stored(state, article_id)
            row = state.reader().db.execute(
                "SELECT s.id FROM story_members m JOIN articles a ON a.seq = m.seq JOIN stories s ON s.story = m.story "
                "WHERE a.id = ?", (article_id,)).fetchone()
        return {**_article_json(article), "story": row[0] if row else None}

    @app.delete("/api/articles/{article_id:path}", tags=["articles"], dependencies=[Depends(require_token)],
                summary="Remove an article: from its story and near-copy group too")
    async def delete_article(article_id: str) -> dict:
        return await _run_locked(_remove, state, article_id)

    @app.get("/api/stories", tags=["stories"], summary="Stories, paged and filtered")
    def list_stories(
        page: int = Query(1, ge=1, description="Page number, from 1"),
        per_page: int = Query(20, ge=1, le=200, description="Stories a page"),
        sort: Literal["newest", "biggest", "oldest"] = Query("newest", description="newest (last seen), biggest or oldest first"),
        since: Optional[str] = Query(None, description="Only stories seen on or after this date (YYYY-MM-DD)"),
        until: Optional[str] = Query(None, description="Only stories seen on or before this date (YYYY-MM-DD)"),
        source: Optional[str] = Query(None, description="Only stories with an article from this source (outlet or domain)"),
        lang: Optional[str] = Query(None, description="Only stories with an article in this language (ISO 639-1)"),
        q: Optional[str] = Query(None, max_length=200, description="Only stories whose articles' title or text contain this text"),
        min_size: int = Query(1, ge=1, description="Only stories with at least this many articles"),
    ) -> dict:
        from .stories import story_row

        where, args = ["s.merged_into IS NULL", "s.size >= ?"], [min_size]
        if since:
            where.append("s.last_day >= ?")
            args.append(_day(since, "since"))
        if until:
            where.append("s.first_day <= ?")
            args.append(_day(until, "until"))
        member = []
        if source:
            member.append("(a.source = ? OR (a.source IS NULL AND (a.url LIKE ? ESCAPE '\\' OR a.url LIKE ? ESCAPE '\\')))")
            host = _like(source.strip().lower())
            args += [source.strip(), f"%://{host}/%", f"%://www.{host}/%"]
        if lang:
            member.append("a.lang = ?")
            args.append(lang.strip().lower())
        if q and q.strip():
            for word in q.split()[:8]:
                member.append("(a.title LIKE ? ESCAPE '\\' OR a.text LIKE ? ESCAPE '\\')")
                args += [f"%{_like(word)}%"] * 2
        for cond in member:
            where.append(f"EXISTS (SELECT 1 FROM story_members m JOIN articles a ON a.seq = m.seq WHERE m.story = s.story AND {cond})")
        order = {"newest": "s.last_day DESC, s.size DESC, s.story DESC", "biggest": "s.size DESC, s.last_day DESC, s.story DESC",
                 "oldest": "s.first_day, s.story"}[sort]
        sql_where = " AND ".join(where)
        with state.snapshot() as store:
            db = store.db
            total = db.execute(f"SELECT COUNT(*) FROM stories s WHERE {sql_where}", args).fetchone()[0]
            rows = db.execute(f"SELECT s.story, s.id, s.first_day, s.last_day, s.size FROM stories s WHERE {sql_where} "
                              f"ORDER BY {order} LIMIT ? OFFSET ?", args + [per_page, (page - 1) * per_page]).fetchall()
            stories = [story_row(db, *r) for r in rows]
        for row in stories:
            row["summary"] = row["summary"][:400]
        return {"page": page, "per_page": per_page, "total": total, "pages": max(1, -(-total // per_page)), "stories": stories}

    @app.get("/api/stories/{story_id:path}", tags=["stories"], summary="One story with its view")
    def get_story(story_id: str) -> dict:
        from .stories import story_row
        from .storyview import cached_view, story_members

        with state.snapshot() as store:
            db = store.db
            members = story_members(store, story_id)
            if members is None:
                raise ApiError(404, f"no story {story_id!r} in this store")
            live = db.execute("SELECT s.story, s.id, s.first_day, s.last_day, s.size FROM stories s JOIN story_members m "
                              "ON m.story = s.story JOIN articles a ON a.seq = m.seq WHERE a.id = ?",
                              (members[0].id,)).fetchone() if members else None
            row = story_row(db, *live) if live else {"story": story_id}
        view = cached_view(members)
        return {**row, "view": view}

    @app.post("/api/compare", tags=["compare"], summary="Same story or not, near-copy or not, and the shared passages")
    def compare(req: CompareRequest) -> dict:
        from .clean import clean_article
        from .scorer import ScorerError
        from .verdict import compare_articles

        pair = []
        for side in ("a", "b"):
            record, stored_id = getattr(req, side), getattr(req, f"{side}_id")
            if (record is None) == (stored_id is None):
                raise ApiError(422, f"give exactly one of '{side}' (an article record) and '{side}_id' (a stored article's id)")
            if stored_id is not None:
                pair.append(_stored(state, stored_id))
                continue
            article = _record(record, f"'{side}'", state.limits)
            try:
                pair.append(clean_article(article, max_seconds=state.limits.max_seconds) if req.clean else article)
            except SamestoryError as exc:
                raise ApiError(422, f"'{side}': {exc}") from None
        try:
            verdict = compare_articles(*pair, scorer=state.scorer(req.model))
        except ScorerError as exc:
            raise ApiError(422, str(exc)) from None
        return {**verdict, "articles": [_article_json(a) for a in pair]}

    # --- the web page --------------------------------------------------------------------------------------

    web = resources.files("samestory") / "web"
    app.mount("/static", StaticFiles(directory=str(web)), name="static")

    @app.get("/", include_in_schema=False)
    def index():
        return FileResponse(str(web / "index.html"), media_type="text/html", headers=PAGE_HEADERS)

    return app


# ------------------------------------------------------------------------------------------- helpers


def _read(data: bytes, name: str, fmt: str, limits: Limits) -> list:
    from .ingest import read_bytes

    try:
        return list(read_bytes(data, name=name, format=fmt, limits=limits))
    except InputError as exc:
        return [exc]
    except Exception as exc:  # a reader failing on odd bytes: the upload's fault, said as such
        return [InputError(name, f"cannot read ({type(exc).__name__}: {exc})")]


def _json_records(body: bytes, limits: Limits) -> list:
    try:
        doc = _loads(body)
    except json.JSONDecodeError as exc:
        if exc.msg == "Extra data" and body.lstrip()[:1] == b"{":  # JSON Lines sent as JSON: read line by line
            return _read(body, "body", "jsonl", limits)
        raise ApiError(400, f"malformed JSON: {exc}") from None
    except ValueError as exc:
        raise ApiError(400, f"malformed JSON: {exc}") from None
    if isinstance(doc, dict) and isinstance(doc.get("articles"), list):
        doc = doc["articles"]
    if isinstance(doc, dict):
        doc = [doc]
    if not isinstance(doc, list):
        raise ApiError(422, f"expected a list of article objects or one object, got {type(doc).__name__}")
    if not doc:
        raise ApiError(422, "the list holds no article")
    from .ingest.records import ARTICLES, make_item

    return [make_item(ARTICLES, rec, "body", f"record {i}", limits) for i, rec in enumerate(doc, 1)]


def _loads(body: bytes):
    """A JSON body: UTF-8, -16 or -32 as JSON allows; bytes that are not are decoded as the file readers do."""
    try:
        return json.loads(body)
    except UnicodeDecodeError:
        from .ingest.source import decode_text

        return json.loads(decode_text(body)[0])


def _record(record: dict, where: str, limits: Limits) -> Article:
    from .ingest.records import ARTICLES, make_item

    item = make_item(ARTICLES, record, where, "record", limits)
    if isinstance(item, InputError):
        raise ApiError(422, str(item))
    return item


def _stored(state: _State, article_id: str) -> Article:
    store = state.reader()
    seq = store.article_seq(article_id)
    if seq is None:
        raise ApiError(404, f"no article {article_id!r} in this store")
    return store.articles([seq])[0]


def _article_json(a: Article) -> dict:
    return {"id": a.id, "title": a.title, "text": a.text, "date": a.date, "source": a.source, "url": a.url,
            "lang": a.lang, "byline": a.byline}


def _day(value: str, name: str) -> int:
    from .dates import to_iso

    iso = None
    try:
        iso = to_iso(value)
        return dt.date.fromisoformat((iso or value)[:10]).toordinal()
    except (ValueError, TypeError, OverflowError):
        raise ApiError(422, f"{name}: {value!r} is not a date (use YYYY-MM-DD)") from None


def _like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


async def _run_locked(fn, *args):
    from starlette.concurrency import run_in_threadpool

    return await run_in_threadpool(fn, *args)


def _add_files(state: _State, uploads: list[tuple[bytes, str, str]], clean: bool):
    """Read uploaded files (bytes, name, format), then :func:`_add` their articles."""
    items: list = []
    for data, name, fmt in uploads:
        items.extend(_read(data, name, fmt, state.limits))
    return _add(state, items, clean)


def _add_json(state: _State, body: bytes, clean: bool):
    """Read a JSON body of article records, then :func:`_add` them."""
    return _add(state, _json_records(body, state.limits), clean)


def _add(state: _State, items: list, clean: bool):
    """Clean and cluster the articles of one request, in one locked write (rolled back whole on failure)."""
    from .clean import clean_article
    from .cluster import ClusterError
    from .store import StoreError

    errors, articles, seen = [], [], set()
    for item in items:
        if isinstance(item, InputError):
            errors.append(str(item))
            continue
        try:
            article = clean_article(item, max_seconds=state.limits.max_seconds) if clean else item
        except SamestoryError as exc:
            errors.append(f"{item.origin or '?'}: {exc}")
            continue
        if not (article.text or "").strip() and not (article.title or "").strip():
            errors.append(f"{item.origin or '?'}: no text")
            continue
        if article.ensure_id() in seen:
            errors.append(f"{item.origin or '?'}: duplicate id {article.id!r} in this request; skipped")
            continue
        seen.add(article.id)
        articles.append(article)
    if not articles:
        raise ApiError(422 if errors else 400, "no article could be read" + (": " + "; ".join(errors[:20]) if errors else ""))
    with state.lock:
        try:
            clusterer = state.clusterer()
            rows = clusterer.add(articles, workers=0)  # no worker processes inside the service
        except (StoreError, ClusterError) as exc:
            raise ApiError(503, f"the store cannot take the articles now: {exc}") from None
        placed = clusterer.placed_by_arrival
    titles = {a.id: a.title for a in articles}
    return {"added": len(rows), "errors": errors,
            "articles": [{"id": aid, "story": sid, "title": titles.get(aid), "placed_by_arrival": placed.get(aid)}
                         for aid, sid in rows]}


def _remove(state: _State, article_id: str) -> dict:
    """Remove one article through the service's own clusterer (its stories in memory stay true)."""
    from .cluster import ClusterError
    from .store import StoreError

    with state.lock:
        if state.store.article_seq(article_id) is None:
            raise ApiError(404, f"no article {article_id!r}")
        try:
            state.clusterer().remove([article_id])
        except (StoreError, ClusterError, SamestoryError) as exc:
            raise ApiError(503, f"the store cannot remove the article now: {exc}") from None
    return {"removed": article_id}


def run(store_dir: str | os.PathLike[str], host: str = DEFAULT_HOST, port: int = DEFAULT_PORT, token: str | None = None,
        max_body_bytes: int = DEFAULT_MAX_BODY, log_level: str = "info", doc_timeout: float | None = DEFAULT_SECONDS) -> None:
    """Serve the application with uvicorn until interrupted."""
    import uvicorn

    app = create_app(store_dir, token=token, max_body_bytes=max_body_bytes, doc_timeout=doc_timeout)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


__all__ = ["ApiError", "DEFAULT_HOST", "DEFAULT_PORT", "DEFAULT_MAX_BODY", "TOKEN_ENV", "create_app", "run"]
