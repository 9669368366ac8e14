#!/usr/bin/env python3
# A misbehaving agent for tests/t16-relay.sh: it connects to the relay
# like filestor-agent (raw WebSocket, the agent's credential), then breaks
# the protocol (docs/relay.md) as SCENARIO says, and prints what the
# relay did. Test-only; never installed.
#   fake-relay-agent.py HOST PORT "Bearer ID.SECRET" SCENARIO
# SCENARIO: garbage | neverid | toolarge | more | stall | gone
#   gone: answers a read of 1 GB with data as fast as the relay credits
#   it, until the relay cancels the stream; prints "cancel"
#   stall: answers a first read with a header and 4 of its 10 bytes, and
#   a second with nothing at all, then prints each cancel the relay sends
import base64, json, os, socket, struct, sys

def send(s, op, data):
    mask = os.urandom(4)
    n = len(data)
    if n < 126:
        hdr = struct.pack('!BB', 0x80 | op, 0x80 | n)
    elif n < 65536:
        hdr = struct.pack('!BBH', 0x80 | op, 0x80 | 126, n)
    else:
        hdr = struct.pack('!BBQ', 0x80 | op, 0x80 | 127, n)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
    s.sendall(hdr + mask + body)

def recvn(s, n):
    b = b''
    while len(b) < n:
        c = s.recv(n - len(b))
        if not c:
            raise EOFError
        b += c
    return b

def recv(s):
    a, b = recvn(s, 2)
    op, n = a & 0x0f, b & 0x7f
    if n == 126:
        n = struct.unpack('!H', recvn(s, 2))[0]
    elif n == 127:
        n = struct.unpack('!Q', recvn(s, 8))[0]
    return op, recvn(s, n)

def close_code(s):
    try:
        while True:
            op, data = recv(s)
            if op == 8:
                return struct.unpack('!H', data[:2])[0] if len(data) >= 2 else 0
    except (EOFError, OSError):
        return -1

def main():
    host, port, auth, scen = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    s = socket.create_connection((host, port))
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(('GET /api/agents/connect HTTP/1.1\r\nHost: %s:%d\r\n'
               'Upgrade: websocket\r\nConnection: Upgrade\r\n'
               'Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n'
               'Sec-WebSocket-Protocol: filestor-relay.v1\r\n'
               'Authorization: %s\r\n\r\n' % (host, port, key, auth)).encode())
    head = b''
    while b'\r\n\r\n' not in head:
        c = s.recv(1)
        if not c:
            print('no answer'); return 2
        head += c
    if b' 101 ' not in head.split(b'\r\n')[0]:
        print('refused'); return 2
    print('connected', flush=True)
    if scen == 'garbage':
        send(s, 1, b'not json')
    elif scen == 'neverid':
        send(s, 1, b'{"op":"head","id":999,"status":200}')
    elif scen == 'toolarge':
        send(s, 1, b'{"op":"hello","pad":"' + b'x' * (1 << 21) + b'"}')
    elif scen == 'more':
        while True:
            op, data = recv(s)
            m = json.loads(data)
            if m.get('op') == 'read':
                break
        sid = m['id']
        send(s, 1, json.dumps({'op': 'head', 'id': sid, 'status': 200,
                               'size': 10, 'start': 0, 'length': 10}).encode())
        send(s, 2, struct.pack('!I', sid) + b'y' * 20)
        while True:
            op, data = recv(s)
            if op == 1 and json.loads(data).get('op') == 'cancel':
                print('cancel', flush=True)
                return 0
    elif scen == 'stall':
        reads = 0
        cancels = 0
        while cancels < 2:
            op, data = recv(s)
            if op != 1:
                continue
            m = json.loads(data)
            if m.get('op') == 'read':
                reads += 1
                if reads == 1:
                    send(s, 1, json.dumps({'op': 'head', 'id': m['id'],
                                           'status': 200, 'size': 10,
                                           'start': 0,
                                           'length': 10}).encode())
                    send(s, 2, struct.pack('!I', m['id']) + b'z' * 4)
                print('read', flush=True)
            elif m.get('op') == 'cancel':
                cancels += 1
                print('cancel', flush=True)
        return 0
    elif scen == 'gone':
        while True:
            op, data = recv(s)
            if op == 1 and json.loads(data).get('op') == 'read':
                break
        sid = json.loads(data)['id']
        size = 1 << 30
        credit = json.loads(data).get('window', 0)
        send(s, 1, json.dumps({'op': 'head', 'id': sid, 'status': 200,
                               'size': size, 'start': 0,
                               'length': size}).encode())
        chunk = struct.pack('!I', sid) + b'g' * 65536
        while True:
            while credit >= 65536:
                send(s, 2, chunk)
                credit -= 65536
            op, data = recv(s)
            if op != 1:
                continue
            m = json.loads(data)
            if m.get('op') == 'credit':
                credit += m['bytes']
            elif m.get('op') == 'cancel':
                print('cancel', flush=True)
                return 0
    print('close %d' % close_code(s), flush=True)
    return 0

sys.exit(main())
