// pony-report's node example: node's own test runner (node --test).
import { describe, it, test } from 'node:test';
import assert from 'node:assert/strict';

const slugify = (s) => s.toLowerCase().trim().split(/\s+/).join('-');

describe('slugify', () => {
  it('joins words', () => {
    assert.equal(slugify('Hello World'), 'hello-world');
  });
  it('drops surrounding space', () => {
    assert.equal(slugify('  spaced   out '), 'spaced-out');
  });
  it('drops punctuation', () => {
    // Fails on purpose: punctuation is kept.
    assert.equal(slugify('Hello, World!'), 'hello-world');
  });
  it('handles windows paths', { skip: 'needs a Windows host' }, () => {});
  it('folds unicode', { todo: 'not done yet' }, () => {
    assert.equal(slugify('Straße'), 'strasse');
  });
});

test('async work', async () => {
  const v = await new Promise((resolve) => setTimeout(() => resolve(42), 10));
  assert.equal(v, 42);
});
