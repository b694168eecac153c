"""The translation example's model in PyTorch, trained on the same split and tokens.

A cross-check of the Rust example (`cargo run -p burn-rnn-examples --bin translation`): the
same architecture (embeddings 128, bidirectional GRU or LSTM encoder of 128 units per direction
(`--cell`), a `tanh` bridge to a decoder of 256 units of the same cell (for LSTM, one for the
hidden and one for the cell state), Luong general attention, attentional state
`tanh(W_c [s; c])`, dropout 0.3 on embeddings and before the output layer), the same training
(Adam 2e-3, label smoothing 0.1, gradient norm clipped to 1, length-bucketed batches of 64,
early stopping on the validation cross-entropy with patience 5) and the same corpus BLEU, on
the split and the subword tokens that `translation export` writes:

    cargo run -p burn-rnn-examples --bin translation -- export --out /tmp/mt
    python3 examples/scripts/translation_torch.py --dir /tmp/mt [--cell lstm] [--device cuda]

Prints the training (label-smoothed) and validation (plain) cross-entropy of each epoch, as
the example does, and the test BLEU of the best epoch's weights by greedy decoding and by beam
search (`--beam`, the example's algorithm: `beam × batch` rows, `2 × beam` candidates per
step, scores normalised by length, the greedy translation competing with the finished ones).
As in the example, a sentence leaves the batch when it is done, in both decoders.
Use a current PyTorch (e.g. `../shared/tools/setup_torch.sh`).
"""
import argparse
import collections
import math
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

PAD, UNK, BOS, EOS = 0, 1, 2, 3

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--dir', required=True, help='the output of `translation export`')
parser.add_argument('--cell', choices=['gru', 'lstm'], default='gru')
parser.add_argument('--embedding', type=int, default=128)
parser.add_argument('--hidden', type=int, default=128, help='per encoder direction')
parser.add_argument('--dropout', type=float, default=0.3)
parser.add_argument('--word-dropout', type=float, default=0.0)
parser.add_argument('--label-smoothing', type=float, default=0.1)
parser.add_argument('--learning-rate', type=float, default=2e-3)
parser.add_argument('--batch-size', type=int, default=64)
parser.add_argument('--clip', type=float, default=1.0, help='global gradient norm')
parser.add_argument('--clip-each', action='store_true',
                    help="clip each parameter's gradient norm on its own (burn-optim's "
                         '`GradientClipping::Norm`) instead of the global norm')
parser.add_argument('--adam-eps', type=float, default=1e-8, help="Adam's epsilon (Burn: 1e-5)")
parser.add_argument('--minutes', type=float, default=30, help='training time budget')
parser.add_argument('--epochs', type=int, default=100)
parser.add_argument('--patience', type=int, default=5)
parser.add_argument('--seed', type=int, default=42)
parser.add_argument('--device', default='cpu', help='cpu, or cuda (for sweeps on a GPU)')
parser.add_argument('--beam', type=int, default=5, help='beam width (0: greedy decoding only)')
args = parser.parse_args()
print(args, flush=True)
torch.manual_seed(args.seed)
random.seed(args.seed)
torch.set_num_threads(2)
device = torch.device(args.device)


def read(name):
    with open(f'{args.dir}/{name}', encoding='utf-8') as f:
        return [line.split() for line in f]


def vocabulary(sentences):
    """Tokens seen at least twice, after the four reserved ones (as the example's `Vocab`)."""
    counts = collections.Counter(w for s in sentences for w in s)
    tokens = ['<pad>', '<unk>', '<s>', '</s>'] + sorted(w for w, k in counts.items() if k >= 2)
    return {w: i for i, w in enumerate(tokens)}, tokens


source_ids, _ = vocabulary(read('train.src'))
target_ids, target_tokens = vocabulary(read('train.tgt'))


def encode(ids, sentence):
    return [ids.get(w, UNK) for w in sentence]


def part(name):
    return [(encode(source_ids, s), encode(target_ids, t))
            for s, t in zip(read(name + '.src'), read(name + '.tgt'))]


train, valid, test = part('train'), part('valid'), part('test')
references = read('test.ref')
print('vocabularies', len(source_ids), len(target_ids),
      'pairs', len(train), len(valid), len(test), flush=True)


class Seq2Seq(nn.Module):
    def __init__(self):
        super().__init__()
        e, h = args.embedding, args.hidden
        self.source_embedding = nn.Embedding(len(source_ids), e)
        self.target_embedding = nn.Embedding(len(target_ids), e)
        rnn = nn.LSTM if args.cell == 'lstm' else nn.GRU
        self.encoder = rnn(e, h, batch_first=True, bidirectional=True)
        self.bridge = nn.Linear(2 * h, 2 * h)
        self.cell_bridge = nn.Linear(2 * h, 2 * h) if args.cell == 'lstm' else None
        self.decoder = rnn(e, 2 * h, batch_first=True)
        self.score = nn.Linear(2 * h, 2 * h, bias=False)  # Luong general: s W hᵀ
        self.combine = nn.Linear(4 * h, 2 * h)
        self.output = nn.Linear(2 * h, len(target_ids))
        self.dropout = nn.Dropout(args.dropout)

    def encode(self, source, lengths):
        x = self.dropout(self.source_embedding(source))
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                   enforce_sorted=False)
        outputs, final = self.encoder(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True)
        # The final states of both directions, concatenated and projected.
        bridge = lambda linear, s: torch.tanh(linear(torch.cat([s[0], s[1]], -1)))[None]
        if self.cell_bridge is None:
            state = bridge(self.bridge, final)
        else:
            state = (bridge(self.bridge, final[0]), bridge(self.cell_bridge, final[1]))
        mask = (torch.arange(outputs.shape[1], device=device)[None]
                < torch.tensor(lengths, device=device)[:, None])
        return outputs, state, mask

    def predict(self, decoded, outputs, mask):
        scores = torch.bmm(self.score(decoded), outputs.transpose(1, 2))
        attention = scores.masked_fill(~mask[:, None], -1e9).softmax(-1)
        context = torch.bmm(attention, outputs)
        attentional = torch.tanh(self.combine(torch.cat([decoded, context], -1)))
        return self.output(self.dropout(attentional))

    def forward(self, source, lengths, target_input):
        outputs, state, mask = self.encode(source, lengths)
        decoded, _ = self.decoder(self.dropout(self.target_embedding(target_input)), state)
        return self.predict(decoded, outputs, mask)


def pad(sequences):
    longest = max(map(len, sequences))
    return torch.tensor([s + [PAD] * (longest - len(s)) for s in sequences], device=device)


def word_dropout(sentence, p):
    return [UNK if p > 0 and random.random() < p else w for w in sentence]


def batches(pairs, training):
    """Batches of similar source lengths (sorted within chunks of 50 batches)."""
    order = list(range(len(pairs)))
    if training:
        random.shuffle(order)
    chunk = args.batch_size * 50
    groups = []
    for i in range(0, len(order), chunk):
        by_length = sorted(order[i:i + chunk], key=lambda j: len(pairs[j][0]))
        groups += [by_length[k:k + args.batch_size]
                   for k in range(0, len(by_length), args.batch_size)]
    if training:
        random.shuffle(groups)
    p = args.word_dropout if training else 0.0
    for group in groups:
        source = [word_dropout(pairs[j][0], p) for j in group]
        target_input = [[BOS] + word_dropout(pairs[j][1], p) for j in group]
        target_output = [pairs[j][1] + [EOS] for j in group]
        yield pad(source), [len(s) for s in source], pad(target_input), pad(target_output)


model = Seq2Seq().to(device)
optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, eps=args.adam_eps)


def validation_loss():
    model.eval()
    total = tokens = 0
    with torch.no_grad():
        for source, lengths, target_input, target_output in batches(valid, False):
            logits = model(source, lengths, target_input)
            total += F.cross_entropy(logits.flatten(0, 1), target_output.flatten(),
                                     ignore_index=PAD, reduction='sum').item()
            tokens += (target_output != PAD).sum().item()
    return total / tokens


def encode_group(group):
    lengths = [len(s) for s, _ in group]
    return model.encode(pad([s for s, _ in group]), lengths)


def select_state(state, rows):
    return tuple(s[:, rows] for s in state) if isinstance(state, tuple) else state[:, rows]


def greedy_group(outputs, state, mask, max_length):
    """Greedy decoding of one encoded batch, as `Seq2Seq::greedy` does it (a sentence leaves
    the batch when it ends): each example's ids (ending with EOS unless `max_length` came
    first) and their total log-probability, and the decoder steps run."""
    n = outputs.shape[0]
    ids, totals = [[] for _ in range(n)], [0.0] * n
    active = list(range(n))
    token = torch.full((n, 1), BOS, device=device)
    steps = 0
    for _ in range(max_length):
        steps += 1
        decoded, state = model.decoder(model.target_embedding(token), state)
        best, token = model.predict(decoded, outputs, mask).log_softmax(-1).max(-1)
        going_on = []
        for i, (t, log_prob) in enumerate(zip(token[:, 0].tolist(), best[:, 0].tolist())):
            ids[active[i]].append(t)
            totals[active[i]] += log_prob
            if t != EOS:
                going_on.append(i)
        if not going_on:
            break
        if len(going_on) < len(active):
            rows = torch.tensor(going_on, device=device)
            outputs, mask, token = outputs[rows], mask[rows], token[rows]
            state = select_state(state, rows)
            active = [active[i] for i in going_on]
    return list(zip(ids, totals)), steps


def beam_group(outputs, state, mask, k, max_length):
    """Beam search of one encoded batch, as `Seq2Seq::beam_search` does it (an example leaves
    the batch when it is done): each example's best ids by log-probability / length, the
    greedy translation among the candidates."""
    n, vocab = outputs.shape[0], len(target_ids)
    greedy_hypotheses, _ = greedy_group(outputs, state, mask, max_length)
    rows = torch.arange(n, device=device).repeat_interleave(k)
    outputs, mask, state = outputs[rows], mask[rows], select_state(state, rows)
    scores = torch.full((n * k,), -math.inf, device=device)
    scores[::k] = 0.0
    beams = [[] for _ in range(n * k)]
    tokens = torch.full((n * k, 1), BOS, device=device)
    finished = [[] for _ in range(n)]
    # Row i * k + j is beam j of the i-th example still decoding.
    active = list(range(n))
    candidates = min(2 * k, k * vocab)
    for step in range(max_length):
        decoded, state = model.decoder(model.target_embedding(tokens), state)
        log_probs = model.predict(decoded, outputs, mask)[:, 0].log_softmax(-1)
        totals = (log_probs + scores[:, None]).view(len(active), k * vocab)
        top, index = (t.tolist() for t in totals.topk(candidates, dim=1))
        last = step + 1 == max_length
        parents, next_beams, next_scores, next_tokens, going_on = [], [], [], [], []
        for i, b in enumerate(active):
            entries = []
            for rank in range(candidates):
                total, flat = top[i][rank], index[i][rank]
                if total == -math.inf or len(entries) == k or (last and rank >= k):
                    break
                parent, token = i * k + flat // vocab, flat % vocab
                hypothesis = (beams[parent] + [token], total)
                if token == EOS:
                    if rank < k:
                        finished[b].append(hypothesis)
                elif last:
                    finished[b].append(hypothesis)
                else:
                    entries.append((parent, hypothesis[0], total, token))
            if last or len(finished[b]) >= k or not entries:
                continue
            going_on.append(i)
            entries += [(i * k, [], -math.inf, EOS)] * (k - len(entries))
            for parent, beam, total, token in entries:
                parents.append(parent)
                next_beams.append(beam)
                next_scores.append(total)
                next_tokens.append(token)
        if not going_on:
            break
        if len(going_on) < len(active):
            kept = torch.tensor([i * k + j for i in going_on for j in range(k)], device=device)
            outputs, mask = outputs[kept], mask[kept]
            active = [active[i] for i in going_on]
        state = select_state(state, torch.tensor(parents, device=device))
        beams, scores = next_beams, torch.tensor(next_scores, device=device)
        tokens = torch.tensor(next_tokens, device=device)[:, None]
    best = []
    for b in range(n):
        ranked = None
        for ids, total in finished[b] + [greedy_hypotheses[b]]:
            score = total / len(ids)
            if ranked is None or score > ranked[0]:
                ranked = (score, ids)
        best.append(ranked[1])
    return best


def words_of(ids):
    ids = ids[:ids.index(EOS)] if EOS in ids else ids
    return ' '.join(target_tokens[t] for t in ids).replace('@@ ', '').split()


def translate(pairs, beam=None, max_length=60):
    """Translations of `pairs` in batches of 64, subwords joined into words (at most 60
    subwords each, as the `translation` program's evaluation generates): greedy (`beam`
    None; also returns the decoder steps run) or by beam search of width `beam`."""
    model.eval()
    words, steps = [], 0
    with torch.no_grad():
        for i in range(0, len(pairs), 64):
            outputs, state, mask = encode_group(pairs[i:i + 64])
            if beam is None:
                hypotheses, group_steps = greedy_group(outputs, state, mask, max_length)
                steps += group_steps
                words += [words_of(ids) for ids, _ in hypotheses]
            else:
                words += [words_of(ids) for ids in beam_group(outputs, state, mask, beam, max_length)]
    return words, steps


def corpus_bleu(hypotheses, references):
    """BLEU-4 as `examples/src/bleu.rs` defines it (clipped counts over the corpus, no
    smoothing, brevity penalty), 0-100."""
    matches, totals = [0] * 4, [0] * 4
    hypothesis_length = reference_length = 0
    for hypothesis, reference in zip(hypotheses, references):
        hypothesis_length += len(hypothesis)
        reference_length += len(reference)
        for n in range(1, 5):
            ngrams = lambda s: collections.Counter(tuple(s[i:i + n]) for i in range(len(s) - n + 1))
            reference_counts = ngrams(reference)
            for gram, count in ngrams(hypothesis).items():
                matches[n - 1] += min(count, reference_counts[gram])
                totals[n - 1] += count
    if hypothesis_length == 0 or min(matches) == 0:
        return 0.0
    log_precision = sum(math.log(m / t) for m, t in zip(matches, totals)) / 4
    brevity = min(1.0, math.exp(1 - reference_length / hypothesis_length))
    return 100 * brevity * math.exp(log_precision)


best, best_state, stale = math.inf, None, 0
start, epoch_time = time.time(), 0.0
for epoch in range(1, args.epochs + 1):
    if time.time() - start + epoch_time > args.minutes * 60:
        break
    epoch_start = time.time()
    model.train()
    total = count = 0
    for source, lengths, target_input, target_output in batches(train, True):
        logits = model(source, lengths, target_input)
        loss = F.cross_entropy(logits.flatten(0, 1), target_output.flatten(), ignore_index=PAD,
                               label_smoothing=args.label_smoothing)
        optimizer.zero_grad()
        loss.backward()
        if args.clip_each:
            for parameter in model.parameters():
                nn.utils.clip_grad_norm_(parameter, args.clip)
        else:
            nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        # Per target token over the epoch, as the example's training loss.
        tokens = (target_output != PAD).sum().item()
        total, count = total + loss.item() * tokens, count + tokens
    epoch_time = time.time() - epoch_start
    loss = validation_loss()
    line = (f'epoch {epoch:3}: train loss {total / count:.4f} | valid loss {loss:.4f} | '
            f'{epoch_time:.0f} s')
    if loss < best:
        best, stale = loss, 0
        best_state = {k: v.clone() for k, v in model.state_dict().items()}
        line += ' (best)'
    else:
        stale += 1
    print(line, flush=True)
    if stale >= args.patience:
        break
model.load_state_dict(best_state)
decode_start = time.time()
translations, steps = translate(test)
decode_time = time.time() - decode_start
print(f'best validation loss {best:.4f}; test BLEU (greedy): '
      f'{corpus_bleu(translations, references):.2f} ({decode_time:.1f} s to decode the test set: '
      f'{steps} decoder steps, {1e3 * decode_time / max(steps, 1):.2f} ms each)')
if args.beam > 0:
    decode_start = time.time()
    beam_translations, _ = translate(test, args.beam)
    decode_time = time.time() - decode_start
    print(f'test BLEU (beam {args.beam}): {corpus_bleu(beam_translations, references):.2f} '
          f'({decode_time:.1f} s to decode the test set)')
for hypothesis, reference in list(zip(translations, references))[:5]:
    print(' '.join(hypothesis), '|', ' '.join(reference))
