"""An independent float64 NumPy reference of the papers' maps.

It builds the dense symmetric weight matrix over *all* layers (as the papers' OneMatrix
code does) from the model's parameters, and iterates the maps with NumPy only.
"""

import numpy as np


def rho(s):
    return 1.0 / (1.0 + np.exp(-4.0 * (s - 0.5)))


def rho_prime(s):
    r = rho(s)
    return 4.0 * r * (1.0 - r)


class DenseReference:
    """Dense float64 copy of a hopjax network: W over layers 0..L, offsets per layer."""

    def __init__(self, model):
        sizes = list(model.layer_sizes)
        self.sizes = sizes
        self.offsets = np.concatenate([[0], np.cumsum(sizes)])
        n = self.offsets[-1]
        self.W = np.zeros((n, n))
        for i, j, w in model.edges:
            w = np.asarray(w, dtype=np.float64)
            a, b = self.block(i), self.block(j)
            self.W[a, b] += w
            self.W[b, a] += w.T
        self.b = np.zeros(n)
        for j, bias in enumerate(model.biases, start=1):
            self.b[self.block(j)] = np.asarray(bias, dtype=np.float64)
        self.chn = type(model).__name__ == "CHN"
        self.L = len(sizes) - 1

    def block(self, layer):
        return slice(self.offsets[layer], self.offsets[layer + 1])

    def full(self, x, states):
        out = np.zeros(self.offsets[-1])
        out[self.block(0)] = x
        for j, s in enumerate(states, start=1):
            if s is not None:
                out[self.block(j)] = s
        return out

    def split(self, v):
        return [v[self.block(j)] for j in range(1, self.L + 1)]

    def synchronous(self, x, states):
        """Eq. (5)/(6): every state layer from the previous full state, x clamped."""
        v = self.full(x, states)
        field = rho(v) @ self.W + self.b
        new = rho_prime(v) * field if self.chn else field
        return self.split(new)

    def layer_update(self, x, states, layers):
        """Update the listed layers (one parity) from the current states (HAM only)."""
        new = self.synchronous(x, states)
        return [new[j - 1] if j in layers else states[j - 1] for j in range(1, self.L + 1)]

    def even_odd(self, x, states_modelled):
        """Eq. (9)/(10) for a HAM: auxiliary parity first, then the output's parity."""
        L = self.L
        modelled = [j for j in range(1, L + 1) if (L - j) % 2 == 0]
        aux = [j for j in range(1, L + 1) if (L - j) % 2 == 1]
        full = [s if s is not None else np.zeros(d) for s, d in zip(states_modelled, self.sizes[1:])]
        full = self.layer_update(x, full, aux)
        full = self.layer_update(x, full, modelled)
        return full

    def energy(self, x, states):
        v = self.full(x, states)
        r = rho(v)
        s = v[self.offsets[1]:]
        rs = r[self.offsets[1]:]
        if self.chn:
            self_term = 0.5 * np.sum(s**2)
        else:
            lag = np.logaddexp(0.0, 4.0 * (s - 0.5)) / 4.0
            self_term = np.sum(s * rs - lag)
        return self_term - 0.5 * r @ self.W @ r - self.b[self.offsets[1]:] @ rs

    def residual(self, x, states, update="synchronous"):
        """Relative fixed-point residual of the full states under the synchronous map."""
        new = self.synchronous(x, states)
        a = np.concatenate(new)
        b = np.concatenate([np.asarray(s, np.float64) for s in states])
        return np.linalg.norm(a - b) / np.linalg.norm(b)

    def solve(self, x, damping=0.5, steps=20000, tol=1e-14):
        """Damped Picard on the synchronous map, to tight tolerance (float64)."""
        states = [np.zeros(d) for d in self.sizes[1:]]
        for _ in range(steps):
            new = self.synchronous(x, states)
            new = [damping * s + (1 - damping) * n for s, n in zip(states, new)]
            change = np.linalg.norm(np.concatenate(new) - np.concatenate(states))
            states = new
            if change < tol * np.linalg.norm(np.concatenate(states)):
                break
        return states
