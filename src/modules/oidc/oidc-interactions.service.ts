import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import type { InteractionResults, PromptDetail, default as Provider } from 'oidc-provider';
import type { UserEntity } from '../accounts/entities/user.entity';
import { OidcAccountsService } from './oidc-accounts.service';
import { type ArborClient, OidcProviderService } from './oidc-provider.service';

/** One pending authorization, as the hosted pages need it. */
export interface InteractionView {
  uid: string;
  /** login: sign in; access: the user may not use the app; consent: approve the scopes. */
  prompt: 'login' | 'access' | 'consent';
  client: ArborClient;
  /** The signed-in account the provider has for this browser, if any. */
  accountId: string | undefined;
  /** Scopes and claims the app asks the user to approve. */
  scopes: string[];
  redirectUri: string | undefined;
}

/**
 * The hosted pages' side of oidc-provider interactions: read the pending request, then finish it with
 * a sign-in, a consent, or a refusal. The provider answers the browser (a redirect back into the flow).
 */
@Injectable()
export class OidcInteractionsService {
  /** The interaction details() read for a request, so finishing it in the same request reads it once. */
  private readonly read = new WeakMap<IncomingMessage, Awaited<ReturnType<Provider['interactionDetails']>>>();

  constructor(
    private readonly oidc: OidcProviderService,
    private readonly accounts: OidcAccountsService,
  ) {}

  /** null when the interaction is unknown, expired or belongs to another browser. */
  async details(req: IncomingMessage, res: ServerResponse): Promise<InteractionView | null> {
    const provider = await this.oidc.current();
    let interaction;
    try {
      interaction = await provider.interactionDetails(req, res);
    } catch {
      return null;
    }
    this.read.set(req, interaction);
    const clientId = typeof interaction.params.client_id === 'string' ? interaction.params.client_id : '';
    const client = await this.oidc.client(clientId);
    if (!client) return null;
    const name = interaction.prompt.name;
    const prompt = name === 'login' || name === 'access' ? name : 'consent';
    const details = interaction.prompt.details as PromptDetail['details'] & {
      missingOIDCScope?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const scopes = [
      ...(details.missingOIDCScope ?? []),
      ...Object.values(details.missingResourceScopes ?? {}).flat(),
    ];
    return {
      uid: interaction.uid,
      prompt,
      client,
      accountId: interaction.session?.accountId,
      scopes: [...new Set(scopes)],
      redirectUri:
        typeof interaction.params.redirect_uri === 'string' ? interaction.params.redirect_uri : undefined,
    };
  }

  /**
   * Whether the browser's signed-in user (its row as read for this request's session) may use the
   * interaction's app now: the permission engine, asked again.
   */
  mayUse(user: UserEntity, view: InteractionView): Promise<boolean> {
    return user.isActive ? this.accounts.hasAccess(user, view.client.appUid) : Promise.resolve(false);
  }

  async finishLogin(req: IncomingMessage, res: ServerResponse, userId: number): Promise<void> {
    await this.finish(req, res, { login: { accountId: String(userId) } }, false);
  }

  /** The user approved: the grant gets what the prompt found missing. */
  async finishConsent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const provider = await this.oidc.current();
    const interaction = this.read.get(req) ?? (await provider.interactionDetails(req, res));
    const accountId = interaction.session?.accountId;
    if (!accountId) throw new Error('consent without a signed-in account');
    const details = interaction.prompt.details as {
      missingOIDCScope?: string[];
      missingOIDCClaims?: string[];
      missingResourceScopes?: Record<string, string[]>;
    };
    const grant =
      (interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined) ??
      new provider.Grant({ accountId, clientId: interaction.params.client_id as string });
    if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
    if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
    for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
      grant.addResourceScope(indicator, scopes.join(' '));
    }
    const grantId = await grant.save();
    await this.finish(req, res, { consent: { grantId } }, true);
  }

  /** Access now granted (the permission changed while the page was open): let the flow go on. */
  async resume(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await this.finish(req, res, {}, true);
  }

  /** The app receives `access_denied` with the reason. */
  async deny(req: IncomingMessage, res: ServerResponse, description: string): Promise<void> {
    await this.finish(req, res, { error: 'access_denied', error_description: description }, false);
  }

  /**
   * Stores the interaction's result and sends the browser back into the flow, as the provider's
   * interactionFinished does; with the interaction details() read in this request, where the provider
   * would read it (and its session) again.
   */
  private async finish(
    req: IncomingMessage,
    res: ServerResponse,
    result: InteractionResults,
    mergeWithLastSubmission: boolean,
  ): Promise<void> {
    const interaction =
      this.read.get(req) ?? (await (await this.oidc.current()).interactionDetails(req, res));
    interaction.result =
      mergeWithLastSubmission && !('error' in result) ? { ...interaction.lastSubmission, ...result } : result;
    // The provider's own clock (epoch seconds), which set `exp`.
    await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
    res.statusCode = 303;
    res.setHeader('Location', interaction.returnTo);
    res.setHeader('Content-Length', '0');
    res.end();
  }
}
