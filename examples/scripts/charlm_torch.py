"""The charlm example's model in PyTorch, trained on the same split with the same budget.

A cross-check of the Rust example (`cargo run -p burn-rnn-examples --bin charlm`): the same
model (character embeddings 64, a stacked LSTM or GRU of 2 layers of 128 units, `--dropout`
on the embeddings, between the layers and before the output layer, 0 by default), the same
training (the training block cut into 32 contiguous streams read 128 characters at a time, the
state carried and detached from batch to batch and reset at the start of each pass, Adam at
1e-2 with epsilon 1e-8, the learning rate multiplied by 0.95 after each epoch, the global
gradient norm clipped to 1, epochs of 150 updates, early stopping on the validation bits per
character with patience 5, at most 40 epochs) and the same measure (bits per character over
the same held-out characters), on the blocks and the vocabulary that `charlm export` writes:

    cargo run -p burn-rnn-examples --bin charlm -- export --out /tmp/charlm
    /work/venv-modern/bin/python examples/scripts/charlm_torch.py --dir /tmp/charlm

Prints the training loss and validation bits per character of each epoch, as the example
does, then the test bits per character of the best epoch's weights and the training time.
`--save-init FILE` writes the initial weights (safetensors), which `charlm --init-from FILE`
starts from, so that both programs train from the same weights; `--print-updates N` prints
the loss of each of the first N updates. Use a current PyTorch.
"""
import argparse
import copy
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument('--dir', required=True, help='the output of `charlm export`')
parser.add_argument('--cell', choices=['lstm', 'gru'], default='lstm')
parser.add_argument('--layers', type=int, default=2)
parser.add_argument('--hidden', type=int, default=128)
parser.add_argument('--embedding', type=int, default=64)
parser.add_argument('--dropout', type=float, default=0.0)
parser.add_argument('--learning-rate', type=float, default=1e-2, help='in the first epoch')
parser.add_argument('--lr-decay', type=float, default=0.95,
                    help='the learning rate is multiplied by this after each epoch')
parser.add_argument('--clip', type=float, default=1.0, help='global gradient norm')
parser.add_argument('--batch', type=int, default=32, help='streams')
parser.add_argument('--chunk', type=int, default=128, help='characters per stream and batch')
parser.add_argument('--epochs', type=int, default=40)
parser.add_argument('--epoch-updates', type=int, default=150)
parser.add_argument('--patience', type=int, default=5)
parser.add_argument('--seed', type=int, default=42)
parser.add_argument('--threads', type=int, default=2)
parser.add_argument('--save-init', metavar='FILE',
                    help='write the initial weights (safetensors) for `charlm --init-from`')
parser.add_argument('--print-updates', type=int, default=0, metavar='N',
                    help='print the loss of each of the first N updates on its own line')
args = parser.parse_args()
print(args, flush=True)
torch.manual_seed(args.seed)
torch.set_num_threads(args.threads)

with open(f'{args.dir}/vocab.json', encoding='utf-8') as f:
    chars = json.load(f)['chars']
index = {c: i for i, c in enumerate(chars)}  # id 0: the unknown symbol


def block(name):
    with open(f'{args.dir}/{name}', encoding='utf-8', newline='') as f:
        return torch.tensor([index.get(c, 0) for c in f.read()], dtype=torch.long)


train_ids, valid_ids, test_ids = block('train.txt'), block('valid.txt'), block('test.txt')


class Streams:
    """The example's `Streams`: `batch` contiguous streams of `(len(ids) - 1) // batch`
    targets, read `chunk` at a time (the last chunk shorter)."""

    def __init__(self, ids, batch, chunk):
        self.length = (len(ids) - 1) // batch
        used = batch * self.length
        self.inputs = ids[:used].view(batch, self.length)
        self.targets = ids[1:used + 1].view(batch, self.length)
        self.chunk = chunk
        self.chunks = -(-self.length // chunk)
        self.count = used

    def __getitem__(self, k):
        part = slice(k * self.chunk, min((k + 1) * self.chunk, self.length))
        return self.inputs[:, part], self.targets[:, part]


class CharLm(nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(len(chars), args.embedding)
        rnn = nn.LSTM if args.cell == 'lstm' else nn.GRU
        self.rnn = rnn(args.embedding, args.hidden, args.layers, batch_first=True,
                       dropout=args.dropout if args.layers > 1 else 0.0)
        self.output = nn.Linear(args.hidden, len(chars))
        self.dropout = nn.Dropout(args.dropout)

    def forward(self, ids, state):
        out, state = self.rnn(self.dropout(self.embedding(ids)), state)
        return self.output(self.dropout(out)), state


def detach(state):
    if state is None:
        return None
    return tuple(s.detach() for s in state) if isinstance(state, tuple) else state.detach()


@torch.no_grad()
def bits_per_char(model, ids):
    model.eval()
    streams = Streams(ids, args.batch, args.chunk)
    state, nats = None, 0.0
    for k in range(streams.chunks):
        inputs, targets = streams[k]
        logits, state = model(inputs, state)
        nats += F.cross_entropy(logits.reshape(-1, len(chars)), targets.reshape(-1),
                                reduction='sum').item()
    model.train()
    return nats / streams.count / math.log(2)


model = CharLm()
if args.save_init:
    from safetensors.torch import save_file
    save_file(model.state_dict(), args.save_init)
optimizer = torch.optim.Adam(model.parameters(), lr=args.learning_rate, eps=1e-8)
streams = Streams(train_ids, args.batch, args.chunk)
print(f'{len(train_ids)} training / {len(valid_ids)} validation / {len(test_ids)} test '
      f'characters, vocabulary {len(chars)}', flush=True)
start = time.time()
best, best_epoch, best_weights, updates, state = math.inf, 0, None, 0, None
for epoch in range(1, args.epochs + 1):
    epoch_start, loss_sum = time.time(), 0.0
    for group in optimizer.param_groups:
        group['lr'] = args.learning_rate * args.lr_decay ** (epoch - 1)
    for _ in range(args.epoch_updates):
        k = updates % streams.chunks
        if k == 0:
            state = None
        inputs, targets = streams[k]
        logits, state = model(inputs, state)
        state = detach(state)
        loss = F.cross_entropy(logits.reshape(-1, len(chars)), targets.reshape(-1))
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), args.clip)
        optimizer.step()
        loss_sum += loss.item()
        updates += 1
        if updates <= args.print_updates:
            print(f'update {updates:>5}: loss {loss.item():.8f}', flush=True)
    valid = bits_per_char(model, valid_ids)
    train_loss = loss_sum / args.epoch_updates
    improved = valid < best
    if improved:
        best, best_epoch, best_weights = valid, epoch, copy.deepcopy(model.state_dict())
    print(f'epoch {epoch:>3}: train loss {train_loss:.4f} ({train_loss / math.log(2):.4f} '
          f'bits/char) | valid {valid:.4f} bits/char | {time.time() - epoch_start:.0f} s'
          f'{" (best)" if improved else ""}', flush=True)
    if epoch >= best_epoch + args.patience:
        print(f'stopping: no lower validation bits/char since epoch {best_epoch}')
        break
train_time = time.time() - start
model.load_state_dict(best_weights)
print(f'best epoch {best_epoch} of {epoch} ({updates} updates), {train_time:.0f} s of training')
print(f'test bits/char: {bits_per_char(model, test_ids):.4f} (validation {best:.4f})')
