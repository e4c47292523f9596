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

   With ``--link throttled`` (or ``both``, the default) the same rounds run again on a shaped
   link: the hub caps each connection at 40 MiB/s and adds 30 ms to each answer (its
   ``rateCap``/``latency`` faults), and the upload function of the public crunch-cli 13.0.1
   (``--peer-python``, by default the tests' cached environment of it) runs alongside; medians are compared.

Goals: loopback push throughput at least 0.9 of curl's; throttled push at least 4x curl's single
stream and 4x the public client's; push peak RSS under 80 MiB; freezing under a tenth of ``pip
freeze``. Everything it writes is deleted at the end.

    python benchmarks/push.py [--size-mib 1024] [--rounds 3] [--link loopback|throttled|both]
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

sys.path.insert(0, str(Path(__file__).resolve().parent))
import requests
from measure import admin_headers, remember_hub  # noqa: E402

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
    requests.post(api + "_admin/settings", json={"dailyLimit": 1000}, headers=admin_headers(api), timeout=10)
    answer = requests.post(api + "_admin/tokens", json={"competition": "demo", "project": "bench", "user": "me"}, headers=admin_headers(api), timeout=10)
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
    from crunch.code.files import SelectedFile
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
        "from crunch.code.freeze import pin_requirements\n"
        "result = pin_requirements(text)\n"
        "print(time.perf_counter() - start, len(result.pinned))\n"
    )
    whole = "import sys\nfrom crunch.code.freeze import pin_requirements\npin_requirements(open(sys.argv[1]).read())\n"
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


# the upload function of the public crunch-cli 13 (run with its own python): what its push
# runs for each file, its chunks one after another
PEER_UPLOAD = """
import sys, time
from crunch.api import Client
from crunch.api._auth import Auth
api, token, path = sys.argv[1:4]
client = Client(api, Auth.project_token(token))
start = time.perf_counter()
upload = client.uploads.send_from_file(path=path, name="model.bin", preferred_chunk_size=50_000_000)
print(time.perf_counter() - start)
print(upload.id)
"""

LINKS = {
    # name: (MiB/s per connection or None, seconds added per answer)
    "loopback": (None, 0.0),
    "throttled": (40.0, 0.03),
}


def shape(api: str, link: str) -> None:
    rate, latency = LINKS[link]
    answer = requests.post(api + "_admin/faults", json={"rateCap": rate * MIB if rate else None, "latency": latency}, headers=admin_headers(api), timeout=10)
    answer.raise_for_status()


def peer_once(peer_python: str, api: str, token: str, path: Path, cwd: Path) -> Dict[str, float]:
    result = timed([peer_python, "-c", PEER_UPLOAD, api, token, str(path)], cwd)
    seconds, upload_id = result["stdout"].split()[-2:]
    client = Client(api, push_token=token)
    client.abort_upload(upload_id)
    client.delete_upload(upload_id)
    result["function"] = float(seconds)
    return result


def measure_link(link: str, api: str, token: str, model: Path, size: int, folder: Path, rounds: int, peer: str) -> Dict[str, object]:
    """Alternating rounds of curl -T, crunch push, crunch's upload function and (with ``peer``)
    the public client's upload function on ``link``; medians, peaks and ratios."""
    shape(api, link)
    walls: Dict[str, List[float]] = {"curl -T": [], "crunch push": [], "crunch upload function": []}
    peaks: Dict[str, List[float]] = {"curl -T": [], "crunch push": []}
    if peer:
        walls["crunch-cli 13 upload function"] = []
    names = list(walls)
    for round_ in range(rounds):
        for name in names if round_ % 2 == 0 else names[::-1]:
            if name == "curl -T":
                run = curl_once(api, token, model, size, folder)
                walls[name].append(run["wall"])
                peaks[name].append(run["rss_mib"])
            elif name == "crunch push":
                run = timed([CRUNCH, "push", "-m", "benchmark"], folder / "ws")
                assert "successfully uploaded" in run["stdout"], run["stdout"]
                walls[name].append(run["wall"])
                peaks[name].append(run["rss_mib"])
            elif name == "crunch upload function":
                walls[name].append(transfer_once(api, token, model, size)["transfer"])
            else:
                walls[name].append(peer_once(peer, api, token, model, folder)["function"])
    shape_text = "plain loopback" if LINKS[link][0] is None else f"{LINKS[link][0]:g} MiB/s per connection, {LINKS[link][1] * 1000:g} ms per answer"
    print(f"{link} link ({shape_text}), {size / MIB:.0f} MiB, {rounds} rounds, order alternating:")
    medians = {name: statistics.median(times) for name, times in walls.items()}
    for name, times in walls.items():
        peak = f", peak {max(peaks[name]):.1f} MiB" if name in peaks else ""
        print(f"  {name:30}: {', '.join(f'{t:.2f}' for t in times)} s  median {medians[name]:.2f} s = {size / MIB / medians[name]:.0f} MiB/s{peak}")
    figures: Dict[str, object] = {
        "link": link,
        "medians_s": {name: round(value, 3) for name, value in medians.items()},
        "push_peak_rss_mib": round(max(peaks["crunch push"]), 1),
        "push_vs_curl": round(medians["curl -T"] / medians["crunch push"], 2),
        "upload_function_vs_curl": round(medians["curl -T"] / medians["crunch upload function"], 2),
    }
    line = f"  crunch push / curl -T: {figures['push_vs_curl']}x, crunch upload function / curl -T: {figures['upload_function_vs_curl']}x"
    if peer:
        peer_median = medians["crunch-cli 13 upload function"]
        figures["push_vs_peer"] = round(peer_median / medians["crunch push"], 2)
        figures["upload_function_vs_peer"] = round(peer_median / medians["crunch upload function"], 2)
        line += f", crunch push / crunch-cli 13: {figures['push_vs_peer']}x (function to function {figures['upload_function_vs_peer']}x)"
    print(line)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--link", choices=["loopback", "throttled", "both"], default="both")
    parser.add_argument("--peer-python", default=None,
                        help="python of a venv with crunch-cli 13.0.1 (default: the tests' cached one; '' to skip it)")
    parser.add_argument("--no-freeze", action="store_true", help="skip the freeze figures")
    args = parser.parse_args()
    if args.peer_python is None:
        sys.path.insert(0, str(Path(__file__).resolve().parent))
        from measure import peer_executable

        args.peer_python = peer_executable("crunch-cli", "13.0.1", "python")
    size = args.size_mib * MIB
    folder = Path(tempfile.mkdtemp(prefix="crunch-bench-push-"))
    hub = None
    results = []
    try:
        hub, api = start_hub(folder / "hub")
        remember_hub(api, folder / "hub")
        model, token = make_workspace(api, folder / "ws", size)
        links = ["loopback", "throttled"] if args.link == "both" else [args.link]
        for link in links:
            results.append(measure_link(link, api, token, model, size, folder, args.rounds, args.peer_python))
    finally:
        if hub is not None:
            hub.terminate()
            try:
                hub.wait(10)
            except subprocess.TimeoutExpired:
                hub.kill()
        shutil.rmtree(folder, ignore_errors=True)
    print("goals: throttled push >= 4x curl -T and >= 4x crunch-cli 13; loopback push >= 0.9x curl -T; peak < 80 MiB")
    print(json.dumps(results))
    if args.no_freeze:
        return
    freeze = freeze_figures()
    ratio = round(freeze["freeze_step_s"] / freeze["pip_freeze_s"], 3)
    print(
        f"freeze {freeze['requirements']} requirements: step {freeze['freeze_step_s'] * 1000:.1f} ms, "
        f"whole process {freeze['freeze_process_s'] * 1000:.0f} ms | pip freeze {freeze['pip_freeze_s'] * 1000:.0f} ms "
        f"| step/pip {ratio} (goal < 0.1)"
    )


if __name__ == "__main__":
    main()
