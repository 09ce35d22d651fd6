import { applyDecorators } from '@nestjs/common';
import { ApiPropertyOptional } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsObject, ValidateBy, ValidateIf, ValidateNested } from 'class-validator';
import { BoolField, ChoiceField, StringField } from '../../../common/validation/fields';

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

/** Space-separated redirect URIs; each is checked by the service (absolute, no fragment, no wildcard). */
const RedirectUris = (required: boolean) =>
  StringField({ required, max: 4096, description: 'space-separated, matched exactly' });

const LOOPBACK_HOSTS = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * OIDC Back-Channel Logout 1.0 §2.2: an absolute URL, https (http only on a loopback host), without a
 * fragment; used exactly as registered. '' removes it.
 */
export function isBackchannelLogoutUri(value: unknown): boolean {
  if (value === '') return true;
  if (typeof value !== 'string' || value.includes('#') || /\s/.test(value)) return false;
  const url = URL.parse(value);
  if (!url) return false;
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname));
}

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
        defaultMessage: () =>
          'Enter an absolute https URL (http only on localhost, 127.0.0.1 or [::1]) without a fragment.',
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

export class RegisterOAuthDto {
  @RedirectUris(true)
  redirect_uris!: string;
}
