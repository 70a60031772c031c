"""N01 (fixed in 34144bb; before it, the run never ended): `watch https://mirror/inbox` mirrors each epoch with git over HTTP.
git is given GIT_HTTP_LOW_SPEED_LIMIT=1 / TIME=120 and nothing else: a
server (127.0.0.1 here) that answers the ref advertisement with a 200 and
then sends 2 bytes a second keeps `git clone` above the limit forever.
`watch --once` (from cron) never ends and holds the state lock, so every
later run is turned away; the daemon never polls again. Expected: a
mirror step ends within its deadline with one line, and the next pass
runs. usage: n01_mirror_trickle.py [cap seconds]"""
import os, socket, sys, threading, time
sys.path.insert(0, os.path.dirname(__file__))
from lib import *

cap = float(sys.argv[1]) if len(sys.argv) > 1 else 200
srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(8)
port = srv.getsockname()[1]
stop = []

def handle(c):
    try:
        c.recv(65536)
        c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\n"
                  b"Cache-Control: no-cache\r\n\r\n")
        def pkt(t):
            return b"%04x" % (len(t) + 4) + t
        data = pkt(b"# service=git-upload-pack\n") + b"0000"
        i = 0
        while not stop:
            while len(data) < 4:
                i += 1
                ref = b"%040x refs/heads/b%d" % (i, i)
                data += pkt(ref + (b"\0multi_ack\n" if i == 1 else b"\n"))
            c.sendall(data[:2])
            data = data[2:]
            time.sleep(0.4)
    except OSError:
        pass
    finally:
        c.close()

def serve():
    while not stop:
        try:
            c, _ = srv.accept()
        except OSError:
            return
        threading.Thread(target=handle, args=(c,), daemon=True).start()

threading.Thread(target=serve, daemon=True).start()
home = os.path.join(OUT, "n01-home")
os.makedirs(home, exist_ok=True)
env = dict(os.environ, HOME=home, XDG_CACHE_HOME=os.path.join(home, "cache"), XDG_CONFIG_HOME=os.path.join(home, "cfg"),
           GIT_CONFIG_NOSYSTEM="1")
# MIRROR_SECONDS (one hour) lowered to 10 s, to see the deadline act
BOT = [PY, "-c", "import sys; from tdxbot.watch import inbox; inbox.MIRROR_SECONDS = 10.0; "
       "from tdxbot.cli import main; sys.argv[0] = 'tdxbot'; raise SystemExit(main())"]
res = run(BOT + ["watch", "--inbox", f"http://127.0.0.1:{port}/lkml", "--once", "--state", os.path.join(home, "s.sqlite3"),
                    "--from", "Bot <bot@example.org>", "--drafts", os.path.join(home, "d"), "--backlog"],
          env=env, cap=cap)
stop.append(1)
report("n01-mirror-trickle", res)
print("VERDICT:", "BROKE (still running at the cap)" if res[2] is None else "held")
