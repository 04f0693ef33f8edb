"""A stand-in for the Mermaid CLI (mmdc): same arguments, writes a small PNG holding the source.

A source containing "syntax error" fails as mmdc does (exit status 1, a parse error on stderr);
"sleep" makes it hang, "not a png" makes it write something else.
"""

import argparse
import json
import sys
import time

PNG = b"\x89PNG\r\n\x1a\n"

parser = argparse.ArgumentParser()
parser.add_argument("-i", dest="input", required=True)
parser.add_argument("-o", dest="output", required=True)
parser.add_argument("-p", dest="puppeteer")
parser.add_argument("-b", dest="background")
arguments = parser.parse_args()
with open(arguments.input, encoding="utf-8") as file:
    source = file.read()
if arguments.puppeteer:
    with open(arguments.puppeteer, encoding="utf-8") as file:
        config = json.load(file)
    if "--no-sandbox" not in config.get("args", []) or not config.get("executablePath"):
        sys.exit("puppeteer config without Chromium")
if "syntax error" in source:
    print("Error: Parse error on line 2:\ngraph TD; A--\n-------------^", file=sys.stderr)
    sys.exit(1)
if "sleep" in source:
    time.sleep(30)
with open(arguments.output, "wb") as file:
    file.write(b"GIF89a" if "not a png" in source else PNG + b"mermaid:" + source.encode())
