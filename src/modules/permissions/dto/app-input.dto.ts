import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional, PickType } from '@nestjs/swagger';
import { Transform, Type } from 'class-transformer';
import { IsObject, MinLength, ValidateBy, ValidateIf, ValidateNested } from 'class-validator';
import { BoolField, ChoiceField, StringField } from '../../../common/validation/fields';
import { clientUriProblem, isBackchannelLogoutUri, redirectUrisProblem, splitUris } from '../client-uris';

export const APP_UID_PATTERN = /^[a-z0-9-]{1,64}$/;
export const OAUTH_GRANT_TYPES = [
  'authorization-code',
  'implicit',
  'password',
  'client-credentials',
] as const;
export const OIDC_RESPONSE_TYPES = [
  'code',
  'id_token',
  'id_token token',
  'code token',
  'code id_token',
  'code id_token token',
] as const;
export const CLIENT_TYPES = ['confidential', 'public'] as const;

/**
 * Space-separated redirect URIs, kept single-spaced; each must pass `clientUriProblem` (https, or http on
 * loopback; no fragment, wildcard or user information). A required list may not be empty.
 */
const RedirectUris = (required: boolean) =>
  applyDecorators(
    Transform(({ value }: { value: unknown }) =>
      typeof value === 'string' ? splitUris(value).join(' ') : value,
    ),
    StringField({ required, max: 4096, trim: false, description: 'space-separated, matched exactly' }),
    ...(required ? [MinLength(1, { message: 'This field may not be blank.' })] : []),
    ValidateBy({
      name: 'redirectUris',
      validator: {
        validate: (value: unknown) => typeof value === 'string' && redirectUrisProblem(value) === null,
        defaultMessage: (args) =>
          (typeof args?.value === 'string' ? redirectUrisProblem(args.value) : null) ?? 'Not a valid string.',
      },
    }),
  );

/** OIDC Back-Channel Logout 1.0 §2.2: registered under the same rule as a redirect URI; '' removes it. */
const BackchannelLogoutUri = () =>
  applyDecorators(
    StringField({
      max: 1024,
      description: 'OIDC Back-Channel Logout URI: https (http on loopback), no fragment',
    }),
    ValidateBy({
      name: 'isBackchannelLogoutUri',
      validator: {
        validate: isBackchannelLogoutUri,
        defaultMessage: (args) => {
          const rule =
            'Enter an absolute https URL (http only on localhost, 127.0.0.1 or [::1]) without a fragment';
          const problem = typeof args?.value === 'string' ? clientUriProblem(args.value) : null;
          return problem === null ? `${rule}.` : `${rule}: ${problem}.`;
        },
      },
    }),
  );
const SessionRequired = () => BoolField({ description: 'the logout token carries the session id (`sid`)' });
const SkipAuthorization = () =>
  BoolField({ description: 'first-party app: its users are not asked for consent (default false)' });

export class OAuthAppDto {
  @RedirectUris(false)
  redirect_uris?: string;

  @ChoiceField({ choices: CLIENT_TYPES })
  client_type?: (typeof CLIENT_TYPES)[number];

  @ChoiceField({ choices: OAUTH_GRANT_TYPES })
  authorization_grant_type?: (typeof OAUTH_GRANT_TYPES)[number];

  @BackchannelLogoutUri()
  backchannel_logout_uri?: string;

  @SessionRequired()
  backchannel_logout_session_required?: boolean;

  @SkipAuthorization()
  skip_authorization?: boolean;
}

export class OidcAppDto {
  @RedirectUris(false)
  redirect_uris?: string;

  @ChoiceField({ choices: CLIENT_TYPES })
  client_type?: (typeof CLIENT_TYPES)[number];

  @ChoiceField({ choices: OIDC_RESPONSE_TYPES })
  response_type?: (typeof OIDC_RESPONSE_TYPES)[number];

  @BackchannelLogoutUri()
  backchannel_logout_uri?: string;

  @SessionRequired()
  backchannel_logout_session_required?: boolean;

  @SkipAuthorization()
  skip_authorization?: boolean;
}

/** `null` removes a protocol; an object (its fields optional) adds or changes it. */
const Protocol = (dto: new () => object) => (target: object, key: string) => {
  ApiPropertyOptional({ type: dto, nullable: true })(target, key);
  ValidateIf((_o, v) => v !== null && v !== undefined)(target, key);
  IsObject({ message: 'Must be an object or null.' })(target, key);
  ValidateNested()(target, key);
  Type(() => dto)(target, key);
};

/** A marker object: LDAP and HTTP have no writable fields (their details are derived). */
export class ProtocolFlagDto {}

/** The fields both creation and change accept; `name` differs (required on creation), so each declares it. */
export class AppFieldsDto {
  name?: string;

  @StringField({ max: 1024, description: 'the home URL (ArkID `index`)' })
  index?: string;

  @StringField({ max: 255 })
  logo?: string;

  @StringField({ max: 1024, trim: false })
  remark?: string;

  @BoolField()
  allow_any_user?: boolean;

  @Protocol(OAuthAppDto)
  oauth_app?: OAuthAppDto | null;

  @Protocol(OidcAppDto)
  oidc_app?: OidcAppDto | null;

  @Protocol(ProtocolFlagDto)
  ldap_app?: ProtocolFlagDto | null;

  @Protocol(ProtocolFlagDto)
  http_app?: ProtocolFlagDto | null;
}

export class CreateAppDto extends AppFieldsDto {
  @StringField({
    max: 64,
    pattern: APP_UID_PATTERN,
    patternMessage: 'Enter a valid uid: lowercase letters, digits and hyphens.',
    description: 'generated from the name when omitted',
  })
  uid?: string;

  @StringField({ required: true, max: 255, min: 1 })
  declare name: string;
}

/** PATCH/PUT: every field optional; `uid` is immutable (checked by the service). */
export class UpdateAppDto extends AppFieldsDto {
  @StringField({ max: 64 })
  uid?: string;

  @StringField({ max: 255, min: 1 })
  declare name?: string;
}

/**
 * `app/{uid}/oauth/`: the redirect URIs, and optionally the client type and grant type, validated as the
 * same fields of `oauth_app` are.
 */
export class RegisterOAuthDto extends PickType(OAuthAppDto, [
  'client_type',
  'authorization_grant_type',
] as const) {
  @RedirectUris(true)
  redirect_uris!: string;
}
