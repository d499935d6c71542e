#!/usr/bin/env python3
"""An NBD server that lies, for netvm's disk tests: nbd_liar.py HOW CMD...
runs CMD (where "{fd}" in it becomes the number) with an fd that is a
socket to this server, which serves a 1 MiB export of
zeroes (fixed newstyle, NBD_OPT_GO) and misbehaves at the first READ:
  cookie  answers it with another request's cookie
  error   answers it with EIO (and keeps serving)
  cut     sends half its data and closes the connection
Exits with CMD's status."""
import os
import socket
import struct
import subprocess
import sys
import threading

SIZE = 1 << 20
how, cmd = sys.argv[1], sys.argv[2:]
mine, theirs = socket.socketpair()
fd = theirs.fileno()
proc = subprocess.Popen([a.replace('{fd}', str(fd)) for a in cmd],
                        pass_fds=(fd,))
theirs.close()


def get(n):
    b = b''
    while len(b) < n:
        c = mine.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b


def serve():
    disk = bytearray(SIZE)
    mine.sendall(b'NBDMAGICIHAVEOPT' + struct.pack('>H', 3))
    get(4)
    magic, opt, ln = struct.unpack('>QII', get(16))
    get(ln)
    info = struct.pack('>HQH', 0, SIZE, 1 | 4 | 64)
    mine.sendall(struct.pack('>QIII', 0x3e889045565a9, opt, 3, len(info)) + info)
    mine.sendall(struct.pack('>QIII', 0x3e889045565a9, opt, 1, 0))
    lied = False
    while True:
        magic, flags, typ, cookie, off, ln = struct.unpack('>IHHQQI', get(28))
        if typ == 2:
            return
        data = get(ln) if typ == 1 else b''
        if typ == 1:
            disk[off:off + ln] = data
        if typ == 0 and not lied:
            lied = True
            if how == 'cookie':
                mine.sendall(struct.pack('>IIQ', 0x67446698, 0, cookie + 7) + bytes(ln))
                continue
            if how == 'error':
                mine.sendall(struct.pack('>IIQ', 0x67446698, 5, cookie))
                continue
            mine.sendall(struct.pack('>IIQ', 0x67446698, 0, cookie) + bytes(ln // 2))
            mine.close()
            return
        mine.sendall(struct.pack('>IIQ', 0x67446698, 0, cookie) +
                     (bytes(disk[off:off + ln]) if typ == 0 else b''))


def run():
    try:
        serve()
    except (EOFError, OSError):
        pass


threading.Thread(target=run, daemon=True).start()
sys.exit(proc.wait())
