#!/usr/bin/env python3
"""Writes every URI of the corpus as one seed file: make_uri_seeds.py CORPUS.json OUT_DIR"""
import json
import os
import sys

corpus, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
for i, case in enumerate(json.load(open(corpus))):
    with open(os.path.join(out, f'seed-{i:04d}'), 'wb') as f:
        f.write(case['uri'].encode('utf-8', 'surrogatepass'))
