"""The sentiment example's classifier in PyTorch, trained on the same split and token ids.

A cross-check of the Rust example (`cargo run -p burn-rnn-examples --bin sentiment`): the same
architecture (token embeddings of 64, a bidirectional LSTM of 32 units per direction, max
pooling over each sentence's valid steps, dropout 0.3 on the embeddings and before the output
layer), the same training (Adam 3e-3 with Burn's epsilon 1e-5, batches of 32 shuffled each
epoch, early stopping on validation accuracy with patience 5) but for the clipping: the
example clips each parameter's gradient to norm 1 on its own (burn-optim's
`GradientClipping::Norm`), this script the global norm (`clip_grad_norm_`) unless
`--clip-each` (the example's), on the split and the ids that `sentiment export` writes:

    cargo run -p burn-rnn-examples --bin sentiment -- export --out /tmp/sentiment
    python3 examples/scripts/sentiment_torch.py --dir /tmp/sentiment

Prints each epoch's training loss and accuracy, validation loss and accuracy and its time
(training and validation, as the example's epoch line counts them), then the test accuracy
of the best epoch's weights. Use a current PyTorch (e.g. `../shared/tools/setup_torch.sh`).
"""
import argparse
import json
import math
import random
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--dir', required=True, help='the output of `sentiment export`')
parser.add_argument('--embedding', type=int, default=64)
parser.add_argument('--hidden', type=int, default=32, help='per direction')
parser.add_argument('--dropout', type=float, default=0.3)
parser.add_argument('--learning-rate', type=float, default=3e-3)
parser.add_argument('--batch-size', type=int, default=32)
parser.add_argument('--epochs', type=int, default=20)
parser.add_argument('--patience', type=int, default=5)
parser.add_argument('--seed', type=int, default=42)
parser.add_argument('--clip-each', action='store_true',
                    help="clip each parameter's gradient to norm 1, as burn-optim does")
args = parser.parse_args()
print(args, flush=True)
torch.manual_seed(args.seed)
random.seed(args.seed)
torch.set_num_threads(2)

with open(f'{args.dir}/meta.json') as f:
    meta = json.load(f)
PAD = meta['pad']


def read(name):
    """(class index, token ids) per sentence."""
    with open(f'{args.dir}/{name}.tsv') as f:
        rows = [line.rstrip('\n').split('\t') for line in f if line.strip()]
    return [(int(label), [int(t) for t in ids.split()]) for label, ids in rows]


train, valid, test = read('train'), read('valid'), read('test')
print('vocabulary', meta['vocab_size'], 'classes', len(meta['classes']),
      'sentences', len(train), len(valid), len(test), flush=True)


class Classifier(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(meta['vocab_size'], args.embedding)
        self.encoder = nn.LSTM(args.embedding, args.hidden, batch_first=True, bidirectional=True)
        self.dropout = nn.Dropout(args.dropout)
        self.output = nn.Linear(2 * args.hidden, len(meta['classes']))

    def forward(self, tokens, lengths):
        x = self.dropout(self.embedding(tokens))
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True,
                                                   enforce_sorted=False)
        outputs, _ = self.encoder(packed)
        outputs, _ = nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True,
                                                      padding_value=-math.inf)
        return self.output(self.dropout(outputs.max(1).values))


def batches(sentences, training):
    order = list(range(len(sentences)))
    if training:
        random.shuffle(order)
    for i in range(0, len(order), args.batch_size):
        group = [sentences[j] for j in order[i:i + args.batch_size]]
        lengths = [len(ids) for _, ids in group]
        longest = max(lengths)
        tokens = torch.tensor([ids + [PAD] * (longest - len(ids)) for _, ids in group])
        yield tokens, lengths, torch.tensor([label for label, _ in group])


def evaluate(sentences):
    model.eval()
    loss = correct = 0.0
    with torch.no_grad():
        for tokens, lengths, labels in batches(sentences, False):
            logits = model(tokens, lengths)
            loss += F.cross_entropy(logits, labels, reduction='sum').item()
            correct += (logits.argmax(-1) == labels).sum().item()
    return loss / len(sentences), correct / len(sentences)


model = Classifier()
optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, eps=1e-5)
best, best_state, best_epoch = -1.0, None, 0
for epoch in range(1, args.epochs + 1):
    start = time.time()
    model.train()
    total = correct = count = 0.0
    for tokens, lengths, labels in batches(train, True):
        logits = model(tokens, lengths)
        loss = F.cross_entropy(logits, labels)
        optimizer.zero_grad()
        loss.backward()
        if args.clip_each:
            for parameter in model.parameters():
                nn.utils.clip_grad_norm_(parameter, 1.0)
        else:
            nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        total += loss.item() * len(lengths)
        correct += (logits.argmax(-1) == labels).sum().item()
        count += len(lengths)
    valid_loss, valid_accuracy = evaluate(valid)
    elapsed = time.time() - start
    line = (f'epoch {epoch:3}: train loss {total / count:.4f} accuracy {correct / count:.4f} | '
            f'valid loss {valid_loss:.4f} accuracy {valid_accuracy:.4f} | {elapsed:.1f} s')
    if valid_accuracy > best:
        best, best_epoch = valid_accuracy, epoch
        best_state = {k: v.clone() for k, v in model.state_dict().items()}
        line += ' (best)'
    print(line, flush=True)
    if epoch >= best_epoch + args.patience:
        break
model.load_state_dict(best_state)
print(f'test accuracy: {evaluate(test)[1]:.3f} ({len(test)} sentences)')
