"""Training on 2 CPU processes (DDP over gloo) through the real launchers, on the tiny built-in model.

- the loss curve of `torchrun --nproc_per_node 2 -m stages.train` equals that of `python -m stages.train` at the
  same train.global_batch, per logged step (the runs differ only in the order of float sums);
- rank 0 alone writes the adapter and dvclive/;
- a 2-process run (`accelerate launch --config_file configs/accelerate/ddp_cpu.yaml`) killed after its first
  checkpoint resumes from it and ends with the uninterrupted run's adapter;
- accelerate deals each optimizer step the same pairs on 1 and on 2 processes (the premise of the above);
- the accelerate configs load and bench/gpu_ddp_smoke.sh's dry run passes.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from stages.core.files import write_jsonl
from tests.conftest import REPO_ROOT, make_qa_records, sample_texts

ADAPTER = Path("models/adapter/adapter_model.safetensors")
LOSS_CURVE = Path("dvclive/plots/metrics/loss.tsv")
TRAIN_PAIRS = 48  # a multiple of global_batch 8: every step of both runs holds the same 8 pairs (see below)
STEPS = 12  # 2 epochs of 6 optimizer steps
TOLERANCE = 1e-3  # per logged step; measured: under 1e-6 (float sums in another order)


def make_workdir(root: Path, base_model: Path) -> Path:
    """A repository-like folder for `-m stages.train`: params.yaml (dropout off, a loss point per step,
    a checkpoint every 2 steps) and 48 training pairs."""
    root.mkdir()
    params = yaml.safe_load((REPO_ROOT / "params.yaml").read_text(encoding="utf-8"))
    params["model"]["name_or_path"] = str(base_model)
    params["lora"]["dropout"] = 0.0  # each rank would draw its own dropout masks
    params["train"].update(epochs=2, global_batch=8, logging_steps=1, save_steps=2, max_seq_len=256)
    (root / "params.yaml").write_text(yaml.safe_dump(params), encoding="utf-8")
    records = make_qa_records(sample_texts())
    write_jsonl(root / "data/dataset/train.jsonl", records[:TRAIN_PAIRS])
    write_jsonl(root / "data/dataset/eval.jsonl", records[-8:])
    return root


def one_process() -> list[str]:
    return [sys.executable, "-m", "stages.train"]


def torchrun() -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2"] + [
        "-m",
        "stages.train",
    ]


def accelerate_ddp_cpu() -> list[str]:
    config = REPO_ROOT / "configs/accelerate/ddp_cpu.yaml"
    return [sys.executable, "-m", "accelerate.commands.launch", "--config_file", str(config)] + [
        "-m",
        "stages.train",
    ]


def stage_env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(REPO_ROOT), "OMP_NUM_THREADS": "1", "TQDM_DISABLE": "1"}


def run_stage(cmd: list[str], workdir: Path) -> str:
    """Run the train stage to the end in `workdir`; its log."""
    done = subprocess.run(cmd, cwd=workdir, env=stage_env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stderr


def loss_curve(workdir: Path) -> dict[int, float]:
    with open(workdir / LOSS_CURVE, encoding="utf-8") as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    steps = [int(r["step"]) for r in rows]
    assert len(steps) == len(set(steps)), f"a step logged twice (by two ranks?): {steps}"
    return {int(r["step"]): float(r["loss"]) for r in rows}


@pytest.fixture(scope="module")
def one_process_run(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> Path:
    workdir = make_workdir(tmp_path_factory.mktemp("ddp") / "one", tiny_base_model)
    run_stage(one_process(), workdir)
    return workdir


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory: pytest.TempPathFactory, tiny_base_model: Path) -> tuple[Path, str]:
    workdir = make_workdir(tmp_path_factory.mktemp("ddp") / "two", tiny_base_model)
    return workdir, run_stage(torchrun(), workdir)


@pytest.mark.slow
def test_two_processes_give_the_loss_curve_of_one(one_process_run: Path, two_process_run: tuple) -> None:
    two, log = two_process_run
    assert "global batch 8 = 2 process(es) x 4 pairs x 1 accumulated" in log
    single, double = loss_curve(one_process_run), loss_curve(two)
    assert sorted(single) == sorted(double) and len(single) == STEPS  # dvclive's steps: the eval adds one too
    gaps = {step: abs(single[step] - double[step]) for step in single}
    print(f"max |loss(1 process) - loss(2 processes)| = {max(gaps.values()):.2e} over {len(gaps)} steps")
    assert max(gaps.values()) <= TOLERANCE, gaps
    from safetensors.torch import load_file

    weights_1, weights_2 = load_file(one_process_run / ADAPTER), load_file(two / ADAPTER)
    weight_gap = max((weights_1[k] - weights_2[k]).abs().max().item() for k in weights_1)
    print(f"max |weight difference| of the two adapters = {weight_gap:.1e}")
    assert weight_gap <= 1e-5
    curve = [single[step] for step in sorted(single)]
    assert (
        sum(curve[:6]) - sum(curve[6:]) > 0.01
    )  # epoch 2 below epoch 1: two runs that train, not two no-ops
    # rank 0 alone writes: one closing line, one adapter, no checkpoints left
    assert log.count("train: 12 steps, train loss") == 1
    assert (two / ADAPTER).exists() and (two / "dvclive/metrics.json").exists()
    assert not (two / "models/checkpoints").exists()


def worker_pids(launcher_pid: int) -> list[int]:
    """The processes the launcher started: torch's elastic agent starts each rank in a session of its own, so
    killing the launcher's process group would leave them training."""
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            parent = int(stat.read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        if parent == launcher_pid:
            children.append(int(stat.parent.name))
    return children


def saved_checkpoints(workdir: Path) -> list[Path]:
    return [
        p
        for p in workdir.glob("models/checkpoints/run-*/checkpoint-*")
        if (p / "trainer_state.json").exists()
    ]


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds the ranks through /proc")
def test_killed_two_process_run_resumes_from_its_checkpoint(
    tmp_path: Path, tiny_base_model: Path, two_process_run: tuple
) -> None:
    workdir = make_workdir(tmp_path / "killed", tiny_base_model)
    with open(tmp_path / "killed.log", "w") as log:
        launcher = subprocess.Popen(
            accelerate_ddp_cpu(), cwd=workdir, env=stage_env(), stdout=log, stderr=subprocess.STDOUT
        )
        deadline = time.monotonic() + 240
        while not saved_checkpoints(workdir) and launcher.poll() is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert launcher.poll() is None, "training finished before a checkpoint could be interrupted"
        ranks = worker_pids(launcher.pid)
        for pid in [*ranks, launcher.pid]:  # as if the machine went down: no rank saves anything more
            os.kill(pid, signal.SIGKILL)
        launcher.wait()
    assert len(ranks) == 2 and saved_checkpoints(workdir) and not (workdir / ADAPTER).exists()

    log = run_stage(accelerate_ddp_cpu(), workdir)
    assert "resuming the interrupted run from" in log
    uninterrupted, _ = two_process_run
    assert (workdir / ADAPTER).read_bytes() == (uninterrupted / ADAPTER).read_bytes()
    assert not (workdir / "models/checkpoints").exists()


def dealt_steps(n_pairs: int, global_batch: int, world: int, micro: int) -> list[list[int]]:
    """The pairs (indices) each optimizer step of the first epoch sees, as accelerate deals them to `world`
    processes of `micro` pairs per forward pass: the Trainer's sampler, seeded as stages.train seeds it."""
    from accelerate.data_loader import prepare_data_loader
    from torch.utils.data import DataLoader, RandomSampler

    accumulation = global_batch // (micro * world)
    per_rank = []
    for rank in range(world):
        pairs = list(range(n_pairs))
        loader = DataLoader(pairs, batch_size=micro, sampler=RandomSampler(pairs))
        dealt = prepare_data_loader(
            loader,
            num_processes=world,
            process_index=rank,
            put_on_device=False,
            use_seedable_sampler=True,  # the Trainer's default (accelerator_config)
            data_seed=13,  # train.seed, which stages.train passes as data_seed
        )
        dealt.set_epoch(0)
        per_rank.append([batch.tolist() for batch in dealt])
    n_steps = len(per_rank[0]) // accumulation
    return [
        sorted(
            i for batches in per_rank for b in batches[k * accumulation : (k + 1) * accumulation] for i in b
        )
        for k in range(n_steps)
    ]


def test_each_optimizer_step_sees_the_same_pairs_on_one_and_two_processes() -> None:
    one = dealt_steps(48, 8, world=1, micro=8)
    assert dealt_steps(48, 8, world=2, micro=4) == one
    assert dealt_steps(48, 8, world=1, micro=4) == one  # accumulation: the same steps too
    assert dealt_steps(48, 8, world=2, micro=2) == one
    assert sorted(i for step in one for i in step) == list(range(48)) and one[0] != list(range(8))
    # 45 pairs: the last step of the epoch has 5 on one process; accelerate's even_batches fills each process's
    # last micro batch from the start of the epoch's order, so 2 processes see 3 pairs twice in that step
    one, two = dealt_steps(45, 8, world=1, micro=8), dealt_steps(45, 8, world=2, micro=4)
    assert one[:-1] == two[:-1] and len(one[-1]) == 5 and len(two[-1]) == 8 and set(one[-1]) < set(two[-1])


@pytest.mark.parametrize("name", ["ddp_cpu", "ddp_gpu", "fsdp_lora", "zero3_lora"])
def test_accelerate_configs_load(name: str) -> None:
    from accelerate.commands.config.config_args import load_config_from_file

    config = load_config_from_file(str(REPO_ROOT / f"configs/accelerate/{name}.yaml"))
    kind = {"ddp_cpu": "MULTI_GPU", "ddp_gpu": "MULTI_GPU", "fsdp_lora": "FSDP", "zero3_lora": "DEEPSPEED"}
    assert config.distributed_type.value == kind[name] and config.num_processes == 2
    if name == "zero3_lora":
        assert (
            config.deepspeed_config["zero_stage"] == 3 and config.deepspeed_config["zero3_save_16bit_model"]
        )


def test_gpu_smoke_script_dry_run(tmp_path: Path) -> None:
    script = REPO_ROOT / "bench/gpu_ddp_smoke.sh"
    subprocess.run(["bash", "-n", str(script)], check=True)
    done = subprocess.run(
        ["bash", str(script), "--dry-run"],
        cwd=REPO_ROOT,
        env={**stage_env(), "SMOKE_DIR": str(tmp_path / "smoke")},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    for config in ("ddp_gpu", "fsdp_lora", "zero3_lora"):
        assert f"configs/accelerate/{config}.yaml --num_processes" in done.stdout
    params = yaml.safe_load((tmp_path / "smoke/params.yaml").read_text(encoding="utf-8"))
    assert params["train"]["epochs"] < 1 and params["model"]["name_or_path"] == "models/base"
