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
the example does, and the greedy test BLEU of the best epoch's weights (no beam search here).
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
args = parser.parse_args()
print(args, flush=True)
torch.manual_seed(args.seed)
random.seed(args.seed)
torch.set_num_threads(2)
device = torch.device(args.device)


def read(name):
    with open(f'{args.dir}/{name}') as f:
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


def greedy(pairs, max_length=60):
    """Greedy translations, subwords joined into words (at most 60 subwords each, as the
    `translation` program's evaluation generates), and the decoder steps run."""
    model.eval()
    words, steps = [], 0
    with torch.no_grad():
        for i in range(0, len(pairs), 64):
            group = pairs[i:i + 64]
            lengths = [len(s) for s, _ in group]
            outputs, state, mask = model.encode(pad([s for s, _ in group]), lengths)
            token = torch.full((len(group), 1), BOS, device=device)
            generated, done = [], torch.zeros(len(group), dtype=torch.bool, device=device)
            for _ in range(max_length):
                decoded, state = model.decoder(model.target_embedding(token), state)
                token = model.predict(decoded, outputs, mask).argmax(-1)
                generated.append(token)
                done |= token[:, 0] == EOS
                if done.all():
                    break
            steps += len(generated)
            for ids in torch.cat(generated, 1).tolist():
                ids = ids[:ids.index(EOS)] if EOS in ids else ids
                text = ' '.join(target_tokens[t] for t in ids).replace('@@ ', '')
                words.append(text.split())
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
        total, count = total + loss.item(), count + 1
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
translations, steps = greedy(test)
decode_time = time.time() - decode_start
print(f'best validation loss {best:.4f}; test BLEU (greedy): '
      f'{corpus_bleu(translations, references):.2f} ({decode_time:.1f} s to decode the test set: '
      f'{steps} decoder steps, {1e3 * decode_time / max(steps, 1):.2f} ms each)')
for hypothesis, reference in list(zip(translations, references))[:5]:
    print(' '.join(hypothesis), '|', ' '.join(reference))
