// connState derivation, checked against the states Zeek logs for corpus traces (values from Zeek's
// test baselines, quoted in the corpus manifest): http-to-ssh RSTR (ShADadFr), https-to-http RSTO
// (ShADadfR), pop3 REJ (Sr), syn-then-ack-then-rst RSTOS0 (SaR), syn-then-rst RSTOS0 (SR),
// syn-then-stuff-then-rst OTH (SaFR), single-rst OTH (R), server-side half duplex SHR (^hadf).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { connState, Ep, History } from './conn-state.js';

const cases: [string, Ep, Ep, string, number, number, string][] = [
  ['SYN only', Ep.SynSent, Ep.Inactive, 'S', 0, 0, 'S0'],
  ['established, open', Ep.Established, Ep.Established, 'ShAD', 10, 0, 'S1'],
  ['both closed', Ep.Closed, Ep.Closed, 'ShADadFf', 10, 20, 'SF'],
  ['SYN answered by RST', Ep.SynSent, Ep.Reset, 'Sr', 0, 0, 'REJ'],
  ['originator closed, responder silent after handshake', Ep.Closed, Ep.Established, 'ShADF', 5, 0, 'S2'],
  ['responder closed only', Ep.Established, Ep.Closed, 'ShADadf', 5, 5, 'S3'],
  ['originator RST after data (https-to-http)', Ep.Reset, Ep.Closed, 'ShADadfR', 5, 5, 'RSTO'],
  ['responder RST after data (http-to-ssh)', Ep.Closed, Ep.Reset, 'ShADadFr', 5, 5, 'RSTR'],
  ['SYN then RST (syn-then-rst)', Ep.Reset, Ep.Inactive, 'SR', 0, 0, 'RSTOS0'],
  ['SYN, ACK, RST (syn-then-ack-then-rst)', Ep.Reset, Ep.Inactive, 'SaR', 0, 0, 'RSTOS0'],
  ['SYN, ACK, FIN, RST (syn-then-stuff-then-rst)', Ep.Reset, Ep.Inactive, 'SaFR', 0, 0, 'OTH'],
  ['lone RST (single-rst)', Ep.Reset, Ep.Inactive, 'R', 0, 0, 'OTH'],
  ['responder SYN-ACK then RST, no SYN seen', Ep.Inactive, Ep.Reset, '^hr', 0, 0, 'RSTRH'],
  ['originator SYN then FIN, no SYN-ACK', Ep.Closed, Ep.Inactive, 'SF', 0, 0, 'SH'],
  ['responder-only half duplex closed (^hadf)', Ep.Inactive, Ep.Closed, '^hadf', 0, 100, 'SHR'],
  ['midstream, nothing closed', Ep.Partial, Ep.Partial, 'Dd', 10, 10, 'OTH'],
  ['both reset, no data', Ep.Reset, Ep.Reset, 'ShRr', 0, 0, 'REJ'],
];

for (const [name, os, rs, h, ob, rb, want] of cases) {
  test(`connState: ${name} → ${want}`, () => {
    assert.equal(connState(os, rs, h, ob, rb), want);
  });
}

test('history records A/D/F once per direction and T/G/W at 1, 10, 100', () => {
  const h = new History();
  h.once1('S', true);
  h.once1('H', false);
  h.once1('A', true);
  h.once1('D', true);
  h.once1('D', true);
  h.once1('D', false);
  for (let i = 1; i <= 100; i++) h.repeat('T', false, i);
  h.once1('F', true);
  h.once1('F', true);
  assert.equal(h.text, 'ShADdtttF');
  h.flip();
  assert.equal(h.text, '^ShADdtttF');
});
