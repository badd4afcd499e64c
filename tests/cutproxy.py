"""A TCP proxy between a client and a server whose connections a test can cut.

Cutting closes both sockets of every connection the proxy carries, the way a network
fault or a server-side reset does: the client sees its connection end (ECONNRESET or
EOF) while its session lives on in the server, so it reconnects to the same session and
sends setWatches. Threads, not asyncio, so it serves kazoo and aiozk alike.
"""
import socket
import threading


class CutProxy:
    def __init__(self, upstream_host, upstream_port):
        self.upstream = (upstream_host, upstream_port)
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.lock = threading.Lock()
        self.pairs = []
        self.accepted = 0
        self.closed = False
        # While held, new connections are closed as soon as they are accepted.
        self.held = False
        # Every connection's bytes, client to server and back, for investigation.
        self.log = []
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def address(self):
        return f"127.0.0.1:{self.port}"

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.held:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                client.close()
                continue
            with self.lock:
                self.pairs.append((client, server))
                self.accepted += 1
                record = {"up": bytearray(), "down": bytearray()}
                self.log.append(record)
            for a, b, way in ((client, server, "up"), (server, client, "down")):
                threading.Thread(target=self._pump, args=(a, b, record[way]), daemon=True).start()

    @staticmethod
    def _pump(src, dst, record):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                record.extend(data)
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        """Ends every connection the proxy carries now; new ones are accepted as before."""
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def hold(self):
        """Cuts every connection and refuses new ones until `release()`."""
        self.held = True
        self.cut()

    def release(self):
        self.held = False

    def close(self):
        self.closed = True
        self.cut()
        self.listener.close()
