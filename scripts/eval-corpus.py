#!/usr/bin/env python3
"""Measures mailscrub's bounce verdicts on a labelled corpus of messages.

usage: scripts/eval-corpus.py MAILSCRUB_BINARY CORPUS_DIR

CORPUS_DIR holds messages and a labels.jsonl in go-sisimai's layout (one line per bounced
recipient: file, index, status, reason, hardbounce, feedbacktype). Labels that are not failures
(auto-replies `vacation`, `delivered`) are left out. Prints, over the labelled recipients:
  recall          failed recipients found / labelled
  extra           recipients found beyond the labelled ones (candidates for false recipients)
  extra_removed   of those, classed dead or complaint (what would wrongly land in suppression.csv)
  remove_now      agreement on "remove now" (Sisimai: hardbounce, or a feedback report;
                  mailscrub: class dead or complaint), recipient by recipient in message order
"""
import collections, json, subprocess, sys, os

binary, corpus = sys.argv[1], sys.argv[2]
labels = collections.defaultdict(list)
NOT_FAILURES = {"vacation", "delivered"}
for line in open(os.path.join(corpus, "labels.jsonl")):
    l = json.loads(line)
    if l["reason"] not in NOT_FAILURES:
        labels[l["file"]].append(l)

FAILED = {"dead", "recipient_soft", "sender_side", "transient", "complaint", "unsubscribe", "suppressed"}
REMOVE = {"dead", "complaint"}
found = collections.defaultdict(list)
for name in sorted(labels):
    out = subprocess.run([binary, "bounces", "--as-of", "2030-01-01", os.path.join(corpus, name)],
                         capture_output=True, text=True)
    for line in out.stdout.splitlines():
        e = json.loads(line)
        if e["class"] in FAILED:
            found[name].append(e)

want = sum(len(v) for v in labels.values())
recall = agree = extra = extra_removed = 0
matrix = collections.Counter()
disagree = []
for name, ls in labels.items():
    evs = found.get(name, [])
    recall += min(len(evs), len(ls))
    if len(evs) > len(ls):
        extra += len(evs) - len(ls)
        extra_removed += sum(1 for e in evs[len(ls):] if e["class"] in REMOVE)
    for i, l in enumerate(sorted(ls, key=lambda x: x["index"])):
        theirs = bool(l["hardbounce"]) or l["reason"] == "feedback"
        ours = i < len(evs) and evs[i]["class"] in REMOVE
        matrix[(theirs, ours)] += 1
        if theirs == ours:
            agree += 1
        else:
            disagree.append((name, l["reason"], l["status"], evs[i]["class"] if i < len(evs) else None,
                             (evs[i]["diagnostic"][:90] if i < len(evs) else "")))
print(f"labelled recipients {want}")
print(f"recall {recall}/{want} = {recall/want:.1%}")
print(f"extra recipients {extra}, of them classed dead/complaint {extra_removed}")
print(f"remove-now agreement {agree}/{want} = {agree/want:.1%}")
print(f"  Sisimai remove, mailscrub remove {matrix[(True, True)]}; Sisimai remove, mailscrub keep {matrix[(True, False)]}")
print(f"  Sisimai keep, mailscrub remove {matrix[(False, True)]}; Sisimai keep, mailscrub keep {matrix[(False, False)]}")
if "-v" in sys.argv:
    for d in disagree:
        print("  ", d)
