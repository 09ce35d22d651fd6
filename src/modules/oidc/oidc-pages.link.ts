import { Injectable } from '@nestjs/common';

/** What a page rendered inside the provider knows about the browser asking. */
export interface PageRequest {
  acceptLanguage: string;
  /** The raw Cookie header (the language choice lives there). */
  cookie: string;
  secure: boolean;
}

/** Pages the provider itself serves (errors, the sign-out confirmation), in the hosted pages' look. */
export interface OidcPages {
  error(request: PageRequest, error: { error: string; error_description?: string }): Promise<string>;
  /** `form` is the provider's hidden sign-out form (with its CSRF token); the page adds the buttons. */
  logout(request: PageRequest, form: string, formId: string, clientName: string | undefined): Promise<string>;
  loggedOut(request: PageRequest, clientName: string | undefined): Promise<string>;
  /** The Content-Security-Policy for those pages. */
  contentSecurityPolicy(formTargets: readonly string[]): string;
}

/**
 * The web room plugs its renderer in at start-up: the provider needs pages, while the arrows between
 * rooms point from web to oidc only.
 */
@Injectable()
export class OidcPagesLink {
  private connected: OidcPages | null = null;

  connect(pages: OidcPages): void {
    if (this.connected) throw new Error('the provider pages are already connected');
    this.connected = pages;
  }

  get pages(): OidcPages {
    if (!this.connected) throw new Error('the web room is not loaded');
    return this.connected;
  }
}
