import type { IncomingMessage, ServerResponse } from 'node:http';
import { Injectable } from '@nestjs/common';
import type { InteractionResults, default as Provider } from 'oidc-provider';
import type { UserEntity } from '../accounts/entities/user.entity';
import { OidcAccountsService } from './oidc-accounts.service';
import {
  type ArborClient,
  grantRequested,
  OidcProviderService,
  REQUESTED_DETAIL,
  type RequestedAccess,
} from './oidc-provider.service';

type Interaction = Awaited<ReturnType<Provider['interactionDetails']>>;

/** One pending authorization, as the hosted pages need it. */
export interface InteractionView {
  uid: string;
  /** login: sign in; access: the user may not use the app; consent: approve the scopes. */
  prompt: 'login' | 'access' | 'consent';
  client: ArborClient;
  /** The signed-in account the provider has for this browser, if any. */
  accountId: string | undefined;
  /**
   * A sign-in this interaction holds for the consent asked right after it (see holdLogin): its
   * account; the provider's session takes it when the flow resumes.
   */
  heldAccountId: string | undefined;
  /**
   * Scopes the app asks the user to approve: at the consent prompt, those the grant lacks; at a held
   * sign-in, all it asks for.
   */
  scopes: string[];
  redirectUri: string | undefined;
}

type LoginDetails = { [REQUESTED_DETAIL]?: RequestedAccess };
type ConsentDetails = {
  missingOIDCScope?: string[];
  missingOIDCClaims?: string[];
  missingResourceScopes?: Record<string, string[]>;
};

/**
 * The hosted pages' side of oidc-provider interactions: read the pending request, then finish it with
 * a sign-in, a consent, or a refusal. The provider answers the browser (a redirect back into the flow).
 */
@Injectable()
export class OidcInteractionsService {
  /** The interaction details() read for a request, so finishing it in the same request reads it once. */
  private readonly read = new WeakMap<IncomingMessage, Interaction>();

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
    const heldAccountId = prompt === 'login' ? interaction.result?.login?.accountId : undefined;
    const asked =
      prompt === 'login'
        ? this.requested(interaction)
        : {
            oidcScopes: (interaction.prompt.details as ConsentDetails).missingOIDCScope ?? [],
            resourceScopes: (interaction.prompt.details as ConsentDetails).missingResourceScopes ?? {},
          };
    const scopes = [...(asked?.oidcScopes ?? []), ...Object.values(asked?.resourceScopes ?? {}).flat()];
    return {
      uid: interaction.uid,
      prompt,
      client,
      accountId: interaction.session?.accountId,
      heldAccountId,
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

  /**
   * Whether a sign-in at this login prompt is to be followed at once by the consent page, in the same
   * answer (two fewer round trips than resuming the flow, which would only come back to ask): for an
   * app that asks for consent, in a browser session the provider has no account for yet (so no grant
   * to extend), when the app asks for something. The provider still decides everything when the flow
   * resumes; asking less than it wants only brings its own consent prompt back.
   */
  consentFollows(view: InteractionView): boolean {
    return (
      view.prompt === 'login' &&
      !view.client.firstParty &&
      view.accountId === undefined &&
      view.scopes.length > 0
    );
  }

  /** Keeps the sign-in in the interaction, without resuming the flow: the consent page follows. */
  async holdLogin(req: IncomingMessage, userId: number): Promise<void> {
    const interaction = this.read.get(req);
    if (!interaction) throw new Error('holdLogin before details');
    interaction.result = { login: { accountId: String(userId) } };
    await interaction.save(interaction.exp - Math.floor(Date.now() / 1000));
  }

  /**
   * The user approved: the grant gets what the consent prompt found missing, or after a held sign-in
   * what the app asked for; the flow resumes with the sign-in and the consent.
   */
  async finishConsent(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const provider = await this.oidc.current();
    const interaction = this.read.get(req) ?? (await provider.interactionDetails(req, res));
    const held = interaction.prompt.name === 'login' ? interaction.result?.login : undefined;
    const accountId = held?.accountId ?? interaction.session?.accountId;
    if (!accountId) throw new Error('consent without a signed-in account');
    const grant =
      (!held && interaction.grantId ? await provider.Grant.find(interaction.grantId) : undefined) ??
      new provider.Grant({ accountId, clientId: interaction.params.client_id as string });
    const details = interaction.prompt.details as ConsentDetails;
    grantRequested(
      grant,
      (held ? this.requested(interaction) : undefined) ?? {
        oidcScopes: details.missingOIDCScope ?? [],
        claims: details.missingOIDCClaims ?? [],
        resourceScopes: details.missingResourceScopes ?? {},
      },
    );
    const grantId = await grant.save();
    await this.finish(req, res, { ...(held ? { login: held } : {}), consent: { grantId } }, true);
  }

  /** Access now granted (the permission changed while the page was open): let the flow go on. */
  async resume(req: IncomingMessage, res: ServerResponse): Promise<void> {
    await this.finish(req, res, {}, true);
  }

  /** The app receives `access_denied` with the reason. */
  async deny(req: IncomingMessage, res: ServerResponse, description: string): Promise<void> {
    await this.finish(req, res, { error: 'access_denied', error_description: description }, false);
  }

  private requested(interaction: Interaction): RequestedAccess | undefined {
    return (interaction.prompt.details as LoginDetails)[REQUESTED_DETAIL];
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
