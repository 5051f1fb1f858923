// Page object for /admin/cache/stats.
export class StatsPage {
  constructor(page, origin) {
    this.page = page;
    this.origin = origin;
  }

  async open(query = '') {
    await this.page.goto(`${this.origin}/admin/cache/stats${query}`);
  }

  async waitHydrated() {
    await this.page.waitForSelector('[data-testid="stats-page"][data-hydrated="true"]', { timeout: 15000 });
  }

  text(testId) {
    return this.page.textContent(`[data-testid="${testId}"]`);
  }

  async refresh() {
    await this.page.click('[data-testid="refresh"]');
  }
}
