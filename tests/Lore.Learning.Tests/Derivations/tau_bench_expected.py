#!/usr/bin/env python3
"""Independent derivation of the numbers the tests assert on the shared tau-bench sample.

Written from the definitions in the extractors' documentation, not from their code, so that the C# tests check the
extractors against the data. Run from the repository root:  python3 tests/Lore.Learning.Tests/Derivations/tau_bench_expected.py
"""
import collections
import json
import math
import re
import sys
from math import comb

PATH = sys.argv[1] if len(sys.argv) > 1 else '../shared/data/tau-bench-airline-gpt-4o-sample.json'
records = json.load(open(PATH))


def tool_calls(record):
    """(name, arguments, result) per tool message; a tool message answers the oldest unanswered call with its id."""
    pending, calls = {}, []
    for m in record['traj']:
        if m['role'] == 'assistant':
            for tc in m.get('tool_calls') or []:
                pending.setdefault(tc['id'], []).append(tc)
        if m['role'] == 'tool':
            tc = pending[m['tool_call_id']].pop(0)
            calls.append((m['name'], json.loads(tc['function']['arguments']), m['content']))
    return calls


print('== import')
print('episodes', len(records))
print('model calls', sum(m['role'] == 'assistant' for r in records for m in r['traj']))
print('tool steps', sum(m['role'] == 'tool' for r in records for m in r['traj']))
print('failed tool steps', sum(m['role'] == 'tool' and m['content'].startswith('Error') for r in records for m in r['traj']))
print('successes', sum(r['reward'] >= 0.5 for r in records), 'units', len({r['info']['task']['user_id'] for r in records}))

print('== tool errors (tool, pattern, occurrences, episodes, units, recovered, between, changed)')


def pattern(text):
    text = re.sub(r'^\s*error\s*:\s*', '', text, flags=re.I)
    text = re.sub(r'\b\w*\d\w*\b', lambda m: '<num>' if m.group(0).isdigit() else '<id>', text)
    return text.lower()


patterns = collections.defaultdict(lambda: {'occ': 0, 'eps': [], 'units': set(), 'rec': [], 'between': collections.Counter(), 'changed': collections.Counter()})
for i, r in enumerate(records):
    calls = tool_calls(r)
    by_key = collections.defaultdict(list)
    for j, (name, _, result) in enumerate(calls):
        if result.startswith('Error'):
            by_key[(name, pattern(result))].append(j)
    for key, positions in by_key.items():
        p = patterns[key]
        p['occ'] += len(positions)
        p['eps'].append((r['task_id'], r['trial']))
        p['units'].add(r['info']['task']['user_id'])
        last = positions[-1]
        fix = next((j for j in range(last + 1, len(calls)) if calls[j][0] == key[0] and not calls[j][2].startswith('Error')), None)
        if fix is not None:
            p['rec'].append((r['task_id'], r['trial']))
            p['between'].update({calls[j][0] for j in range(last + 1, fix) if calls[j][0] != key[0]})
            a, b = calls[last][1], calls[fix][1]
            p['changed']['+'.join(sorted(k for k in set(a) | set(b) if a.get(k) != b.get(k)))] += 1
for key, p in sorted(patterns.items(), key=lambda kv: (-len(kv[1]['eps']), -kv[1]['occ'])):
    print(key, p['occ'], p['eps'], len(p['units']), p['rec'], dict(p['between']), dict(p['changed']))


def wilson(k, n, z):
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return c - h, c + h


print('wilson 4/6', wilson(4, 6, 1.645), '2/6', wilson(2, 6, 1.645), '2/2', wilson(2, 2, 1.645))

print('== contrast')


def kind(v):
    if v is None: return 'null'
    if isinstance(v, bool): return 'boolean'
    if isinstance(v, (int, float)): return 'zero' if v == 0 else ('negative' if v < 0 else 'number')
    if isinstance(v, str): return 'empty string' if v == '' else 'string'
    if isinstance(v, list): return {0: 'empty list', 1: 'one-item list'}.get(len(v), 'list')
    return 'object'


episodes = [(tool_calls(r), r['reward'] < 0.5) for r in records]
N, F = len(episodes), sum(f for _, f in episodes)
precedence, keys = collections.Counter(), collections.defaultdict(set)
for calls, _ in episodes:
    first = {}
    for i, (n, a, _) in enumerate(calls):
        first.setdefault(n, i)
        keys[n].update(a)
    for a in first:
        for b in first:
            if first[a] < first[b]:
                precedence[(a, b)] += 1
pairs = [p for p, c in precedence.items() if c >= 5]
shapes = collections.defaultdict(set)
for calls, _ in episodes:
    for n, a, _ in calls:
        for k in keys[n]:
            shapes[(n, k)].add(kind(a[k]) if k in a else 'absent')
features = collections.defaultdict(set)
for e, (calls, _) in enumerate(episodes):
    first, last, f = {}, {}, set()
    for i, (n, a, _) in enumerate(calls):
        first.setdefault(n, i)
        last[n] = i
    for a in first:
        for b in last:
            if a != b and first[a] < last[b]:
                f.add((1, f'order:{a}>{b}'))
    for a, b in pairs:
        if b in first and not (a in first and first[a] < first[b]):
            f.add((0, f'missing:{a}>{b}'))
    for n, a, _ in calls:
        for k in keys[n]:
            if len(shapes[(n, k)]) > 1:
                f.add((2, f'argument:{n}.{k}={kind(a[k]) if k in a else "absent"}'))
    for x in f:
        features[x].add(e)
groups = collections.defaultdict(list)
for x, s in features.items():
    if 5 <= len(s) < N:
        groups[frozenset(s)].append(x)


def fisher(a, b, c, d):
    n1, k, t = a + b, a + c, a + b + c + d
    return sum(comb(k, x) * comb(t - k, n1 - x) for x in range(a, min(n1, k) + 1)) / comb(t, n1)


rows = []
for s, xs in groups.items():
    n, k = len(s), sum(episodes[e][1] for e in s)
    rows.append((fisher(k, n - k, F - k, N - F - (n - k)), sorted(xs)[0][1], n, k, len(xs) - 1))
rows.sort()
print('baseline', F, N, 'patterns tested', len(rows))
for row in rows[:5]:
    print(row)
print('always failed (relaxed candidates):', sorted(r[1] for r in rows if r[3] == r[2]))

print('== segments (steps per user turn) of task 0 trial 0 and task 3 trial 0')
for r in records:
    if (r['task_id'], r['trial']) in ((0, 0), (3, 0)):
        sizes, pending = [], False
        for m in r['traj']:
            if m['role'] == 'user':
                pending = True
            if m['role'] == 'assistant':
                if pending or not sizes:
                    sizes.append(0)
                pending = False
                sizes[-1] += 1
            if m['role'] == 'tool':
                sizes[-1] += 1
        print((r['task_id'], r['trial']), sizes)
