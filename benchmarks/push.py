"""Benchmark of ``crunch push`` against the local hub, side by side with ``curl -T``.

1. Starts ``crunch hub serve --port 0`` in a temporary folder, makes a workspace by hand
   (token from the hub's admin call, upgraded like ``crunch setup`` does) holding a model file
   of ``--size-mib`` MiB (1 GiB by default).
2. Times ``crunch push`` of that workspace and ``curl -T`` of the same file to a chunk URL of
   the hub (one upload whose single chunk is the whole file), both under ``/usr/bin/time -v``
   for wall time and peak memory, alternating ``--rounds`` times in the same run (the best
   round of each is compared). The upload of a push is also timed in this process, the
   transfer of the chunks apart from the hub's ``complete`` (a check and a rename: the hub
   writes each chunk in place at its offset).
3. Times pinning a 200-line requirements.txt (the freeze step of a push, in a process that has
   loaded what ``crunch push`` loads) against ``pip freeze``.

Goals: push throughput at least 0.9 of curl's, push peak RSS under 80 MiB, freezing under a
tenth of ``pip freeze``. Everything it writes is deleted at the end.

    python benchmarks/push.py [--size-mib 1024] [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Dict, List, Tuple

import requests

from crunch.api import Client

CRUNCH = str(Path(sys.executable).with_name("crunch"))
MIB = 1024 * 1024


def start_hub(root: Path) -> Tuple[subprocess.Popen, str]:
    process = subprocess.Popen(
        [CRUNCH, "hub", "serve", "--port", "0", "--root", str(root)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    deadline = time.time() + 60
    assert process.stdout is not None
    while time.time() < deadline:
        line = process.stdout.readline()
        if not line:
            break
        match = re.search(r"listening on (http://\S+)", line)
        if match:
            url = match.group(1)
            return process, url if url.endswith("/") else url + "/"
    process.kill()
    raise SystemExit("the hub did not start")


def make_workspace(api: str, folder: Path, size: int) -> Tuple[Path, str]:
    requests.post(api + "_admin/settings", json={"dailyLimit": 1000}, timeout=10)
    answer = requests.post(api + "_admin/tokens", json={"competition": "demo", "project": "bench", "user": "me"}, timeout=10)
    answer.raise_for_status()
    token = Client(api).upgrade_token(answer.json()["token"])
    (folder / ".crunchdao").mkdir(parents=True)
    (folder / ".crunchdao" / "project.json").write_text(
        json.dumps({"competitionName": "demo", "projectName": token.project.name, "userId": token.project.user_id, "apiBaseUrl": api})
    )
    token_file = folder / ".crunchdao" / "token"
    token_file.write_text(token.plain + "\n")
    token_file.chmod(0o600)
    (folder / "main.py").write_text("def train():\n    pass\n\n\ndef infer():\n    pass\n")
    (folder / "requirements.txt").write_text("pandas\nnumpy\n")
    (folder / "resources").mkdir()
    block = os.urandom(MIB)
    with open(folder / "resources" / "model.bin", "wb") as out:
        for index in range(size // MIB):
            out.write(index.to_bytes(8, "little") + block[8:])
        out.write(block[: size % MIB])
    return folder / "resources" / "model.bin", token.plain


def timed(command: List[str], cwd: Path) -> Dict[str, float]:
    start = time.perf_counter()
    done = subprocess.run(["/usr/bin/time", "-v", *command], cwd=cwd, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode != 0:
        raise SystemExit(f"{command[0]} failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", done.stderr)
    return {"wall": wall, "rss_mib": int(rss.group(1)) / 1024 if rss else float("nan"), "stdout": done.stdout}


def curl_once(api: str, token: str, path: Path, size: int, cwd: Path) -> Dict[str, float]:
    """``curl -T`` of the file as the single chunk of one upload (then deleted)."""
    client = Client(api, push_token=token)
    upload = client.create_upload("curl.bin", size, preferred_chunk_size=size)
    request = client.chunk_request(upload.id, 1)
    headers: List[str] = []
    for key, value in request.headers.items():
        headers += ["-H", f"{key}: {value}"]
    result = timed(["curl", "-sS", "-f", "-o", "/dev/null", "-X", request.method or "PUT", *headers, "-T", str(path), request.url], cwd)
    client.abort_upload(upload.id)
    client.delete_upload(upload.id)
    return result


def transfer_once(api: str, token: str, path: Path, size: int) -> Dict[str, float]:
    """The upload of a push, in this process, with the hub's ``complete`` (which assembles the
    chunks into one file on the hub) timed apart from the transfer of the chunks."""
    from crunch.files import SelectedFile
    from crunch.transfer.upload import Uploader

    client = Client(api, push_token=token)
    complete = client.complete_upload
    spent: Dict[str, float] = {}

    def timed_complete(upload_id: object) -> object:
        start = time.perf_counter()
        try:
            return complete(upload_id)
        finally:
            spent["complete"] = time.perf_counter() - start

    client.complete_upload = timed_complete  # type: ignore[method-assign]
    uploader = Uploader(client)
    start = time.perf_counter()
    upload_id = uploader.upload_file("model.bin", SelectedFile(path="model.bin", source=path, size=size))
    total = time.perf_counter() - start
    client.delete_upload(upload_id)
    return {"transfer": total - spent["complete"], "complete": spent["complete"]}


def freeze_figures(repeat: int = 5) -> Dict[str, float]:
    from importlib import metadata

    names = sorted({d.metadata["Name"] for d in metadata.distributions() if d.metadata["Name"]})
    lines = (names + [f"not-installed-{i}" for i in range(200)])[:200]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
        requirements = handle.name
    step = (
        "import time, sys\n"
        "import crunch.cli, crunch.commands.push, requests\n"
        "text = open(sys.argv[1]).read()\n"
        "start = time.perf_counter()\n"
        "from crunch.freeze import pin_requirements\n"
        "result = pin_requirements(text)\n"
        "print(time.perf_counter() - start, len(result.pinned))\n"
    )
    whole = "import sys\nfrom crunch.freeze import pin_requirements\npin_requirements(open(sys.argv[1]).read())\n"
    in_process, ours, pip = [], [], []
    pinned = 0
    try:
        for _ in range(repeat):
            out = subprocess.run([sys.executable, "-c", step, requirements], capture_output=True, text=True, check=True).stdout.split()
            in_process.append(float(out[0]))
            pinned = int(out[1])
            start = time.perf_counter()
            subprocess.run([sys.executable, "-c", whole, requirements], check=True)
            ours.append(time.perf_counter() - start)
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "pip", "freeze"], capture_output=True, check=True)
            pip.append(time.perf_counter() - start)
    finally:
        os.unlink(requirements)
    return {
        "requirements": len(lines),
        "installed_distributions": len(names),
        "pinned": pinned,
        "freeze_step_s": statistics.median(in_process),
        "freeze_process_s": statistics.median(ours),
        "pip_freeze_s": statistics.median(pip),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    size = args.size_mib * MIB
    folder = Path(tempfile.mkdtemp(prefix="crunch-bench-push-"))
    hub = None
    try:
        hub, api = start_hub(folder / "hub")
        model, token = make_workspace(api, folder / "ws", size)
        pushes, curls, transfers = [], [], []
        for _ in range(args.rounds):
            curls.append(curl_once(api, token, model, size, folder))
            pushes.append(timed([CRUNCH, "push", "-m", "benchmark"], folder / "ws"))
            assert "successfully uploaded" in pushes[-1]["stdout"], pushes[-1]["stdout"]
            transfers.append(transfer_once(api, token, model, size))
        best_push = min(p["wall"] for p in pushes)
        best_curl = min(c["wall"] for c in curls)
        best_transfer = min(t["transfer"] for t in transfers)
        figures = {
            "size_mib": args.size_mib,
            "push_wall_s": [round(p["wall"], 2) for p in pushes],
            "push_peak_rss_mib": round(max(p["rss_mib"] for p in pushes), 1),
            "push_mib_per_s": round(args.size_mib / best_push, 1),
            "push_transfer_s": [round(t["transfer"], 2) for t in transfers],
            "hub_complete_s": [round(t["complete"], 2) for t in transfers],
            "push_transfer_mib_per_s": round(args.size_mib / best_transfer, 1),
            "curl_wall_s": [round(c["wall"], 2) for c in curls],
            "curl_peak_rss_mib": round(max(c["rss_mib"] for c in curls), 1),
            "curl_mib_per_s": round(args.size_mib / best_curl, 1),
        }
        figures["ratio_push_vs_curl"] = round(best_curl / best_push, 3)
        figures["ratio_transfer_vs_curl"] = round(best_curl / best_transfer, 3)
    finally:
        if hub is not None:
            hub.terminate()
            try:
                hub.wait(10)
            except subprocess.TimeoutExpired:
                hub.kill()
        shutil.rmtree(folder, ignore_errors=True)
    freeze = freeze_figures()
    figures.update({k: round(v, 4) if isinstance(v, float) else v for k, v in freeze.items()})
    figures["freeze_step_vs_pip"] = round(freeze["freeze_step_s"] / freeze["pip_freeze_s"], 3)
    figures["freeze_process_vs_pip"] = round(freeze["freeze_process_s"] / freeze["pip_freeze_s"], 3)
    print(
        f"push {args.size_mib} MiB: {figures['push_mib_per_s']} MiB/s end to end (chunk transfer alone "
        f"{figures['push_transfer_mib_per_s']} MiB/s; the hub's complete {min(figures['hub_complete_s'])} s), "
        f"peak {figures['push_peak_rss_mib']} MiB RSS | curl -T: {figures['curl_mib_per_s']} MiB/s, "
        f"peak {figures['curl_peak_rss_mib']} MiB | ratio {figures['ratio_push_vs_curl']} end to end, "
        f"{figures['ratio_transfer_vs_curl']} transfer (goal >= 0.9), peak goal < 80 MiB"
    )
    print(
        f"freeze {freeze['requirements']} requirements: step {freeze['freeze_step_s'] * 1000:.1f} ms, "
        f"whole process {freeze['freeze_process_s'] * 1000:.0f} ms | pip freeze {freeze['pip_freeze_s'] * 1000:.0f} ms "
        f"| step/pip {figures['freeze_step_vs_pip']} (goal < 0.1)"
    )
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
