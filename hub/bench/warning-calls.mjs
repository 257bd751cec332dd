// The warning calls of the workbench, the warning list, the warning page, the workflow sweep and
// the wall's workflow figures, as `npm run bench:scale` times them (its `warning:`, `list:`,
// `sweep:` and `wall: workflow` rows) and hub/bench/warning-lists-ab.mjs compares them between two
// builds: one definition for both, so the two measure the same thing.
//
// warningCalls(store, at) → { name: { what, call(r, i) } }: `r` holds the exports of a hub build's
// workflow/repo.js, store/repo.js and live/wall-stats.js; `i` numbers the call. `at` says where the
// calls look, from the caller's data:
//   countyOf(i)       a county code
//   institutionOf(i)  { id, from, to }: an institution and a month of it (epoch ms, [from, to))
//   behind            [{ transaction_id, institution_id, cap }]: warnings whose transaction to read
//   end               the data's end (epoch ms): the sweep's clock
//   recentDay(i)      { from, to }: one of the data's last days
export const OPEN = ['raised', 'assigned', 'acknowledged', 'verifying'];

export function warningCalls(store, at) {
  return {
    'warning: transaction': {
      what: 'GET /api/v1/warnings/:id, the transaction behind it',
      call: (r, i) => {
        const w = at.behind[i % at.behind.length];
        return r.transactionById(store, w.transaction_id, w.institution_id, Number(w.cap));
      },
    },
    'list: open, city': { what: 'GET /api/v1/warnings?state=open states', call: (r) => r.listWarningsWithState(store, { states: OPEN, limit: 50, offset: 0 }) },
    'list: open, county': {
      what: 'GET /api/v1/warnings?county&state=…',
      call: (r, i) => r.listWarningsWithState(store, { county: at.countyOf(i), states: OPEN, limit: 50, offset: 0 }),
    },
    'list: my queue': {
      what: 'GET /api/v1/warnings?assignee=me&state=… (workbench)',
      call: (r, i) => r.listWarningsWithState(store, { assignee: `auditor${i % 40}`, states: ['assigned', 'acknowledged', 'verifying'], limit: 50, offset: 0 }),
    },
    'list: all, newest': { what: 'GET /api/v1/warnings (no filter)', call: (r, i) => r.listWarningsWithState(store, { limit: 50, offset: (i % 3) * 50 }) },
    'list: concluded, county': {
      what: "GET /api/v1/warnings?county&state=concluded,reviewed (a leader's review)",
      call: (r, i) => r.listWarningsWithState(store, { county: at.countyOf(i), states: ['concluded', 'reviewed'], limit: 50, offset: 0 }),
    },
    'list: institution': {
      what: 'GET /api/v1/warnings?institutionId (a month)',
      call: (r, i) => {
        const { id, from, to } = at.institutionOf(i);
        return r.listWarningsWithState(store, { institutionId: id, from, to, limit: 50, offset: 0 });
      },
    },
    // The workflow's periodic sweep (every JG_WORKFLOW_INTERVAL_MS): warnings nobody was assigned
    // to (raised in the last 90 days, as assign() asks) and open ones that may be overdue.
    'sweep: unassigned': { what: 'workflow sweep, unassigned warnings (90 days)', call: (r) => r.unassignedWarnings(store, at.end - 90 * 86_400_000, 2000) },
    'sweep: overdue': { what: 'workflow sweep, escalation candidates', call: (r) => r.escalationCandidates(store, at.end - 60 * 60_000, 5000, at.end) },
    // The wall's workflow figures (concluded today, on time, overdue) and its overdue list, city-wide.
    'wall: workflow': {
      what: 'wall KPIs: concluded / on time / overdue, overdue list',
      call: (r, i) => {
        const { from, to } = at.recentDay(i);
        return Promise.all([r.wallWorkflowStats(store, from, to), r.overdueOpen(store, 20)]);
      },
    },
  };
}
