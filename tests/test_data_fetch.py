"""`embedeval data`: list and verify the data directory, and fetch a file from a server started here on the loopback
address (no other address): out of an archive, checked by sha256, resumed after a cut, refused when corrupted."""

from __future__ import annotations

import http.server
import io
import tarfile
import threading
from pathlib import Path

import pytest

from tests.test_hostile import run_main

PTB_TRAIN = "corpora/ptb/ptb.train.txt"


class Server(http.server.BaseHTTPRequestHandler):
    """Serves ``files`` (path -> bytes) with byte ranges; ``cut`` makes the next full answer stop halfway."""

    files: dict[str, bytes] = {}
    cut = False

    def log_message(self, *args):
        pass

    def do_GET(self):
        data = self.files.get(self.path)
        if data is None:
            self.send_error(404)
            return
        start = 0
        if self.headers.get("Range"):
            start = int(self.headers["Range"].removeprefix("bytes=").split("-")[0])
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if type(self).cut and not start:
            type(self).cut = False
            self.wfile.write(body[: len(body) // 2])  # the connection ends halfway
            return
        self.wfile.write(body)


@pytest.fixture()
def server(data_dir):
    train = (Path(data_dir) / PTB_TRAIN).read_bytes()
    archive = io.BytesIO()
    with tarfile.open(fileobj=archive, mode="w:gz") as tar:
        info = tarfile.TarInfo("./simple-examples/data/ptb.train.txt")
        info.size = len(train)
        tar.addfile(info, io.BytesIO(train))
    Server.files = {"/simple-examples.tgz": archive.getvalue(), "/ptb.train.txt": train,
                    "/corrupt.txt": train[:-10] + b"0123456789"}  # fmt: skip
    Server.cut = False
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Server)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_fetch_takes_the_file_out_of_the_archive_and_checks_it(server, tmp_path, monkeypatch, capsys):
    empty = tmp_path / "data"
    empty.mkdir()
    code, out, err = run_main(["data", "fetch", "ptb:train", "--url", f"{server}/simple-examples.tgz",
                               "--data-dir", str(empty)], monkeypatch, capsys)  # fmt: skip
    assert code == 0, err
    assert "sha256 checked" in out and (empty / PTB_TRAIN).is_file()
    code, out, _ = run_main(["data", "list", "--verify", "--data-dir", str(empty)], monkeypatch, capsys)
    assert code == 0 and "ptb:train" in out


def test_an_interrupted_download_continues_where_it_stopped(server, tmp_path, monkeypatch, capsys):
    empty = tmp_path / "data"
    empty.mkdir()
    Server.cut = True
    args = ["data", "fetch", "ptb:train", "--url", f"{server}/ptb.train.txt", "--data-dir", str(empty)]
    code, _, err = run_main(args, monkeypatch, capsys)
    assert code == 2 and "partial download is kept" in err and "Traceback" not in err
    partial = next((empty / ".downloads").glob("*.part"))
    assert 0 < partial.stat().st_size
    code, out, err = run_main(args, monkeypatch, capsys)  # the same command again
    assert code == 0, err
    assert (empty / PTB_TRAIN).read_bytes() == Server.files["/ptb.train.txt"]


def test_a_corrupted_download_replaces_nothing(server, tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    (data / "corpora" / "ptb").mkdir(parents=True)
    (data / PTB_TRAIN).write_text("my own file")
    code, _, err = run_main(["data", "fetch", "ptb:train", "--url", f"{server}/corrupt.txt", "--data-dir",
                             str(data)], monkeypatch, capsys)  # fmt: skip
    assert code == 2 and "not the known" in err and "Traceback" not in err
    assert (data / PTB_TRAIN).read_text() == "my own file"
    assert (data / "corpora" / "ptb" / "ptb.train.txt.mismatch").is_file()


def test_offline_is_one_line(tmp_path, monkeypatch, capsys):
    import socket

    with socket.socket() as s:  # a loopback port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "data"
    data.mkdir()
    code, _, err = run_main(["data", "fetch", "ptb:train", "--url", f"http://127.0.0.1:{port}/x.txt", "--data-dir",
                             str(data)], monkeypatch, capsys)  # fmt: skip
    assert code == 2 and "offline?" in err and "Traceback" not in err


def test_verify_finds_a_changed_file(tmp_path, monkeypatch, capsys, data_dir):
    data = tmp_path / "data"
    (data / "corpora" / "ptb").mkdir(parents=True)
    (data / PTB_TRAIN).write_text("not the corpus\n")
    code, out, err = run_main(["data", "verify", "--data-dir", str(data)], monkeypatch, capsys)
    assert code == 1 and "mismatch" in err


def test_the_data_group_takes_the_data_directory_its_help_names(tmp_path):
    """`embedeval data --data-dir D` (the help says "$EMBEDEVAL_DATA or --data-dir") lists D, and passes it on to
    `verify` given after it."""
    from tests.conftest import run_cli

    code, out, err = run_cli("data", "--data-dir", str(tmp_path))
    assert code == 0, err
    assert f"Data directory: {tmp_path}" in out.replace("\n", "")
    code, out, err = run_cli("data", "--data-dir", str(tmp_path), "verify")
    assert code == 0 and "0 known files present" in out + err
