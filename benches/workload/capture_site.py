#!/usr/bin/env python3
"""The pages the capture half of the workload watches: a news site on 127.0.0.1 whose page
/story/KEY is a ~46 KB article of its own (navigation, 45 paragraphs, a footer), and which
has no robots.txt. Adds the watches too, through the API, a thousand per token (the limit
a token's agent may have), at pages no earlier run watched (the corpus is kept between runs).

    python3 benches/workload/capture_site.py serve PORT
    python3 benches/workload/capture_site.py watch API_URL SITE_URL PAGES TOKEN...

Standard library only.
"""
import http.server
import random
import sys
import time

from load_corpus import Client

WORDS = ("council bridge harbour engineers inspection corrosion piers repairs budget vote "
         "mayor traffic cyclists pedestrians upstream crossing spring months cost inflation "
         "report committee residents ferry river transport funding plan").split()


def article(key):
    rng = random.Random(key)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(rng.randint(60, 110))) + ".</p>\n"
        for _ in range(45))
    navigation = "".join(f'<li><a href="/section/{i}">Section {i}</a></li>' for i in range(40))
    footer = "".join(f'<a href="/about/{i}">About {i}</a> ' for i in range(400))
    return (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Story {key} | '
            f'The Workload Times</title><meta property="og:site_name" content="The Workload Times">'
            f'</head><body><nav><ul>{navigation}</ul></nav><article><h1>Story {key}</h1>'
            f'{paragraphs}</article><footer>{footer}</footer></body></html>').encode()


class Site(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_GET(self):
        if not self.path.startswith("/story/"):
            self.send_response(404)
            self.send_header("content-length", "0")
            self.end_headers()
            return
        body = article(self.path.rsplit("/", 1)[1])
        self.send_response(200)
        self.send_header("content-type", "text/html; charset=utf-8")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


WATCH = "mutation($i: WatchPageInput!) { watchPage(input: $i) { watch { id } } }"


def main():
    if sys.argv[1] == "serve":
        http.server.ThreadingHTTPServer(("127.0.0.1", int(sys.argv[2])), Site).serve_forever()
    elif sys.argv[1] == "watch":
        api, site, pages, tokens = sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
        run = time.strftime("%Y%m%d%H%M%S")
        for n in range(pages):
            client = Client(api, tokens[n // 1000]) if n % 1000 == 0 else client
            # The site has no robots.txt; one asked for while the readers hold both cores can
            # time out, which (RFC 9309) disallows the site for a while: not what is measured.
            client.post(WATCH, {"i": {"url": f"{site}/story/{run}-{n}", "obeyRobots": False}})


if __name__ == "__main__":
    main()
