"""The hub over real HTTP: the fixture, the client of crunch.api, faults, restarts."""

from __future__ import annotations

import hashlib
import socket
import urllib.error
import urllib.request
from urllib.parse import urlsplit

import pytest
import requests

from crunch import exceptions as exc

pytestmark = pytest.mark.e2e


def test_listing_and_data_release(shared_hub):
    client = shared_hub.client()
    names = [c.name for c in client.list_competitions()]
    assert names == ["demo", "demo-tabular", "demo-unstructured"]
    competition = client.get_competition("demo")
    assert competition.format.value == "TIMESERIES"
    assert client.get_competition(str(competition.id)).name == "demo"
    release = client.get_data_release("demo")
    assert release.embargo == 2 and release.number_of_features == 10
    assert release.test_keys == [30, 31, 32, 33, 34]
    assert set(release.data_files) == {"X_train", "y_train", "X_test", "y_test", "example_prediction"}
    small = client.get_data_release("demo", size_variant="SMALL")
    assert small.data_files["X_train"].size < release.data_files["X_train"].size
    for data_file in release.data_files.values():
        body = requests.get(data_file.url, timeout=10).content
        assert len(body) == data_file.size
        assert hashlib.sha256(body).hexdigest() == data_file.sha256
    with pytest.raises(exc.CompetitionNotFoundError):
        client.get_competition("nope")


def test_range_requests(shared_hub):
    data_file = shared_hub.client().get_data_release("demo").data_files["X_train"]
    whole = requests.get(data_file.url, timeout=10).content
    partial = requests.get(data_file.url, headers={"Range": "bytes=100-"}, timeout=10)
    assert partial.status_code == 206
    assert partial.headers["Accept-Ranges"] == "bytes"
    assert partial.headers["Content-Range"] == f"bytes 100-{len(whole) - 1}/{len(whole)}"
    assert int(partial.headers["Content-Length"]) == len(whole) - 100
    assert partial.content == whole[100:]
    beyond = requests.get(data_file.url, headers={"Range": f"bytes={len(whole)}-"}, timeout=10)
    assert beyond.status_code == 416


def test_data_links_need_their_signature(shared_hub):
    url = shared_hub.client().get_data_release("demo").data_files["y_train"].url
    bare = url.split("?")[0]
    answer = requests.get(bare, timeout=10)
    assert answer.status_code == 403 and answer.json()["code"] == "INVALID_SIGNATURE"
    tampered = requests.get(url.replace("y_train", "X_train"), timeout=10)
    assert tampered.status_code == 403


def test_token_command_and_upgrade(hub, crunch):
    result = crunch("hub", "token", "demo", "p9", "--user", "bob", "--root", hub.root)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    client = hub.client()
    answer = client.upgrade_token(token)
    assert answer.type == "PUSH" and answer.plain
    assert answer.project.name == "p9" and answer.project.competition_id == 1
    with pytest.raises(exc.InvalidProjectTokenError):
        client.upgrade_token(token)  # single use
    with pytest.raises(exc.InvalidProjectTokenError):
        client.upgrade_token("clone-unknown")
    wrong = crunch("hub", "token", "nope", "p9", "--root", hub.root)
    assert wrong.returncode == 1 and "demo" in wrong.stderr


def test_fail_next_is_retried_by_the_client(hub):
    hub.faults(fail_next=2)
    assert [c.name for c in hub.client().list_competitions()] == ["demo", "demo-tabular", "demo-unstructured"]
    assert hub.stats()["failedRequests"] == 2


def test_drop_after_cuts_the_body(hub):
    data_file = hub.client().get_data_release("demo").data_files["X_train"]
    hub.faults(drop_after=1000, path_prefix="/data/")
    with pytest.raises(requests.exceptions.RequestException):
        response = requests.get(data_file.url, timeout=10, stream=True)
        assert int(response.headers["Content-Length"]) == data_file.size
        body = b"".join(response.iter_content(4096))
        assert len(body) < data_file.size  # reached only if requests did not notice
        raise requests.exceptions.ChunkedEncodingError("short body")
    assert hub.stats()["droppedConnections"] == 1
    # one shot: the next download is whole
    assert len(requests.get(data_file.url, timeout=10).content) == data_file.size
    assert hub.bytes_served("X_train") == 1000 + data_file.size


def test_raw_socket_sees_the_cut(hub):
    data_file = hub.client().get_data_release("demo").data_files["X_train"]
    hub.faults(drop_after=10, path_prefix="/data/")
    parts = urlsplit(data_file.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(f"GET {parts.path}?{parts.query} HTTP/1.1\r\nHost: {parts.netloc}\r\n\r\n".encode())
        received = b""
        while True:
            block = sock.recv(65536)
            if not block:
                break
            received += block
    head, _, body = received.partition(b"\r\n\r\n")
    assert f"Content-Length: {data_file.size}".encode() in head
    assert len(body) == 10


def test_admin_refuses_remote_addresses(hub):
    # the admin answers loopback: the fixture itself proves it; a forged header does not matter
    request = urllib.request.Request(hub.url + "_admin/stats", headers={"X-Forwarded-For": "10.0.0.1", "X-Crunch-Hub-Secret": hub.admin_secret})
    with urllib.request.urlopen(request, timeout=10) as response:
        assert response.status == 200
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(hub.url + "v1/competitions/nope", timeout=10)
    assert error.value.code == 404


def test_restart_keeps_state(hub):
    push = hub.push_token("demo", "keep", "carol")
    hub.restart()
    client = hub.client(push_token=push)
    assert client.list_submissions("demo", "carol", "keep") == []
    with pytest.raises(exc.NeverSubmittedError):
        client.clone("demo", "carol", "keep")


def _send(client, data: bytes, chunk_size: int):
    """Upload ``data`` in chunks of ``chunk_size``; the upload as created, once completed."""
    created = client.create_upload("blob.bin", len(data), preferred_chunk_size=chunk_size)
    for chunk in created.chunks:
        target = client.chunk_request(created.id, chunk.number)
        answer = requests.request(target.method, target.url, data=data[chunk.offset : chunk.offset + chunk.size], headers=target.headers, timeout=10)
        answer.raise_for_status()
        client.confirm_chunk(created.id, chunk.number, answer.headers["ETag"])
    assert client.complete_upload(created.id) == "SUCCEEDED"
    return created


def test_upload_submit_clone_over_http(hub):
    push = hub.push_token("demo", "up", "dave")
    client = hub.client(push_token=push)
    data = bytes(range(256)) * 40
    done = _send(client, data, 4000)
    assert len(done.chunks) == 3
    main = _send(client, b"def train():\n    pass\n", 1 << 20)
    submission = client.create_submission(
        "demo", "dave", "up", message="hello", main_file_path="main.py", model_directory_path="resources",
        code_files={"main.py": main.id}, model_files={"model.bin": done.id},
    )
    assert submission.number == 1
    assert [s.number for s in client.list_submissions("demo", "dave", "up")] == [1]
    files = client.clone("demo", "dave", "up")
    assert requests.get(files["resources/model.bin"], timeout=10).content == data
    assert hub.stats()["pendingUploads"] == 0


def test_chunk_put_cut_mid_body(hub):
    client = hub.client(push_token=hub.push_token("demo", "cut", "erin"))
    data = b"x" * 200_000
    created = client.create_upload("big.bin", len(data), preferred_chunk_size=len(data))
    target = client.chunk_request(created.id, 1)
    hub.faults(drop_after=1000, path_prefix="/_upload/")
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.put(target.url, data=data, timeout=10)
    assert hub.stats()["droppedConnections"] == 1
    assert hub.stats()["pendingUploads"] == 1
    answer = requests.put(target.url, data=data, timeout=10)  # re-sent whole
    client.confirm_chunk(created.id, 1, answer.headers["ETag"])
    assert client.complete_upload(created.id) == "SUCCEEDED"
    assert hub.stats()["pendingUploads"] == 0


def test_delay_and_serve_flags(hub_factory):
    slow = hub_factory("--delay", "0.3", "--fail-next", "1", "--daily-limit", "0")
    response = requests.get(slow.url + "v2/competitions", timeout=10)
    assert response.status_code == 503 and response.elapsed.total_seconds() >= 0.3
    assert requests.get(slow.url + "v2/competitions", timeout=10).status_code == 200
    client = slow.client(push_token=slow.push_token("demo", "zero", "zoe"))
    with pytest.raises(exc.DailySubmissionLimitError):
        client.create_submission("demo", "zoe", "zero", message="m", main_file_path="main.py", model_directory_path="resources", code_files={}, model_files={})


def test_add_competition_command(hub, crunch, tmp_path):
    from crunch.hub.seed import timeseries_frames

    data = tmp_path / "data"
    data.mkdir()
    for key, frame in timeseries_frames(rows=3, train_moons=5, test_moons=2, features=4).items():
        frame.to_parquet(data / f"{key}.parquet", index=False)
    result = crunch("hub", "add-competition", "mine", data, "--root", hub.root, "--timeseries", "--embargo", "1", "--target", "target:prediction")
    assert result.returncode == 0, result.stderr
    assert "2 test moon" in result.stdout
    release = hub.client().get_data_release("mine")  # the running hub sees it
    assert release.test_keys == [5, 6] and release.embargo == 1 and release.number_of_features == 4
    bad = crunch("hub", "add-competition", "other", tmp_path, "--root", hub.root)
    assert bad.returncode == 1 and "X_train.parquet" in bad.stderr and "Traceback" not in bad.stderr


def test_add_competition_hides_run_options(hub, crunch, tmp_path):
    from crunch.hub.seed import timeseries_frames

    data = tmp_path / "data"
    data.mkdir()
    for key, frame in timeseries_frames(rows=3, train_moons=5, test_moons=2, features=4).items():
        frame.to_parquet(data / f"{key}.parquet", index=False)
    client = hub.client()
    assert not client.get_competition("demo").hide_train_frequency  # the default: both shown
    assert not client.get_competition("demo").hide_force_first_train
    hidden = crunch("hub", "add-competition", "hidden", data, "--root", hub.root, "--timeseries", "--hide-train-frequency", "--hide-force-first-train")
    assert hidden.returncode == 0, hidden.stderr
    assert "runs of hidden take no --train-frequency and no --force-first-train" in hidden.stdout
    competition = client.get_competition("hidden")
    assert competition.hide_train_frequency and competition.hide_force_first_train
    one = crunch("hub", "add-competition", "one-hidden", data, "--root", hub.root, "--timeseries", "--hide-force-first-train")
    assert one.returncode == 0, one.stderr
    competition = client.get_competition("one-hidden")
    assert not competition.hide_train_frequency and competition.hide_force_first_train
    assert hub.competition_state("one-hidden", hideTrainFrequency=True, hideForceFirstTrain=False) == {
        "phaseClosed": False, "dataUnpublished": False, "hideTrainFrequency": True, "hideForceFirstTrain": False,
    }
    hub.restart()  # kept in the database, unlike a closed phase
    competition = hub.client().get_competition("one-hidden")
    assert competition.hide_train_frequency and not competition.hide_force_first_train
    with pytest.raises(urllib.error.HTTPError) as refused:
        hub.competition_state("one-hidden", hideTrainFrequency="yes")
    assert refused.value.code == 400
    assert hub.client().get_competition("one-hidden").hide_train_frequency


def test_crunch_list_against_the_hub(shared_hub):
    result = shared_hub.run("list")
    assert result.returncode == 0, result.stderr
    assert "demo" in result.stdout and "demo-tabular" in result.stdout


@pytest.mark.parametrize("shapes", ["current", "classic"])
def test_crunch_setup_push_and_list_in_both_shapes(hub_factory, shapes, tmp_path):
    """``crunch hub serve --shapes``: the answers' shapes, and our client's whole flow against each."""
    hub = hub_factory("--shapes", shapes)
    listing = requests.get(hub.url + "v2/competitions", timeout=10).json()
    round_ = requests.get(hub.url + "v1/competitions/demo/rounds/@current", timeout=10).json()
    release = requests.get(hub.url + "v2/competitions/demo/rounds/@current/phases/submission/data-release", timeout=10).json()
    if shapes == "current":
        assert listing["pageSize"] == 100 and len(listing["content"]) == 3
        assert round_["start"] == "2024-01-01T00:00:00.000000"
        assert [t["name"] for t in release["columnNames"]["targets"]] == ["target"]
    else:
        assert [c["name"] for c in listing] == ["demo", "demo-tabular", "demo-unstructured"]
        assert round_["start"] == "2024-01-01T00:00:00Z"
        assert list(release["columnNames"]["targets"]) == ["target"]
    assert hub.settings()["shapes"] == shapes
    listed = hub.run("list")
    assert listed.returncode == 0 and "demo-tabular" in listed.stdout, listed.output
    setup = hub.run("setup", "demo", "shaped", "ws", "--token", hub.token("demo", "shaped", "alice"), "--size", "small", cwd=tmp_path)
    assert setup.returncode == 0, setup.output
    workspace = tmp_path / "ws"
    (workspace / "requirements.txt").write_text("")
    (workspace / "resources" / "model.bin").write_bytes(b"weights" * 1000)
    for message in ("first", "second"):
        pushed = hub.run("push", "-m", message, cwd=workspace, env=hub.env(CRUNCH_UPLOAD_CHUNK_SIZE="4096"))
        assert pushed.returncode == 0, pushed.output
    token = hub.push_token("demo", "shaped", "alice")
    submissions = requests.get(hub.url + "v4/competitions/demo/projects/alice/shaped/submissions", params={"pushToken": token}, timeout=10).json()
    assert [s["message"] for s in submissions] == ["first", "second"]
    assert hub.stats()["pendingUploads"] == 0
    assert hub.run("quickstarter", "list", cwd=workspace).returncode == 0


def test_shapes_switch_on_a_running_hub(hub, crunch, tmp_path):
    assert hub.settings()["shapes"] == "current"  # the default
    assert "content" in requests.get(hub.url + "v2/competitions", timeout=10).json()
    assert hub.settings(shapes="classic")["shapes"] == "classic"
    assert isinstance(requests.get(hub.url + "v2/competitions", timeout=10).json(), list)
    refused = requests.post(hub.url + "_admin/settings", json={"shapes": "zoned"}, headers={"X-Crunch-Hub-Secret": hub.admin_secret}, timeout=10)
    assert refused.status_code == 400 and refused.json()["code"] == "VALIDATION_FAILED"
    assert hub.settings()["shapes"] == "classic"
    hub.restart()  # a setting of the running hub: a restart starts from the flag's value
    assert hub.settings()["shapes"] == "current"
    bad = crunch("hub", "serve", "--port", 0, "--shapes", "zoned", "--root", tmp_path / "root", timeout=60)
    assert bad.returncode == 2 and "current" in bad.stderr and "classic" in bad.stderr and "Traceback" not in bad.stderr
    help_text = crunch("hub", "serve", "--help").stdout
    assert "--shapes" in help_text and "classic" in help_text


def test_serve_refuses_a_busy_port(shared_hub, crunch, tmp_path):
    port = urlsplit(shared_hub.url).port
    result = crunch("hub", "serve", "--port", port, "--root", tmp_path / "root", timeout=60)
    assert result.returncode == 1 and "another --port" in result.stderr and "Traceback" not in result.stderr


def test_names_that_need_quoting(shared_hub):
    name = "my project é"
    client = shared_hub.client(push_token=shared_hub.push_token("demo", name, "zoé"))
    assert client.list_submissions("demo", "zoé", name) == []
    upload = _send(client, b"print(1)\n", 1024)
    client.create_submission(
        "demo", "zoé", name, message="ünïcode ✓", main_file_path="main.py", model_directory_path="resources",
        code_files={"main.py": upload.id, "dir with space/ü.py": upload.id}, model_files={},
    )
    files = client.clone("demo", "zoé", name)
    assert set(files) == {"main.py", "dir with space/ü.py"}
    assert requests.get(files["dir with space/ü.py"], timeout=10).content == b"print(1)\n"
    assert client.list_submissions("demo", "zoé", name)[0].message == "ünïcode ✓"


@pytest.mark.parametrize("character", ["\x00", "\n", "\t", "\x1b", "\x7f"], ids=["nul", "newline", "tab", "escape", "delete"])
def test_names_with_a_control_character_are_refused(hub, character):
    """An upload, a submission's file, main file or model directory, or a served path holding a
    control character: a 400 VALIDATION_FAILED naming it (escaped), and nothing is stored."""
    push = hub.push_token("demo", "ctl", "erin")
    client = hub.client(push_token=push)
    bad = f"bad{character}name.py"
    created = requests.post(hub.url + "v1/uploads", params={"pushToken": push}, json={"name": bad, "size": 3}, timeout=10)
    assert created.status_code == 400, created.text
    answer = created.json()
    assert answer["code"] == "VALIDATION_FAILED" and repr(bad) in answer["message"]
    assert character not in created.text and hub.stats()["pendingUploads"] == 0

    upload = _send(client, b"x=1", 1024)
    submissions = hub.url + "v4/competitions/demo/projects/erin/ctl/submissions"
    bodies = [
        {"codeFiles": {"main.py": upload.id, bad: upload.id}},
        {"codeFiles": {"main.py": upload.id}, "modelFiles": {f"weights{character}.bin": upload.id}},
        {"codeFiles": {bad: upload.id}, "mainFilePath": bad},
        {"codeFiles": {"main.py": upload.id}, "modelDirectoryPath": f"res{character}ources"},
    ]
    for body in bodies:
        refused = requests.post(submissions, json={"message": "m", "type": "CODE", "pushToken": push, **body}, timeout=10)
        assert refused.status_code == 400, refused.text
        assert refused.json()["code"] == "VALIDATION_FAILED" and repr(character)[1:-1] in refused.json()["message"]
    assert client.list_submissions("demo", "erin", "ctl") == []

    served = requests.get(f"{hub.url}files/uploads/{upload.id}/blob%{ord(character):02X}", timeout=10)
    assert served.status_code == 400 and served.json()["code"] == "VALIDATION_FAILED"
    assert repr(character)[1:-1] in served.json()["message"] and character not in served.text
