import { Transform } from 'class-transformer';

/**
 * Form-encoded bodies and query strings deliver strings. These accept the string spelling of a value
 * and leave anything else untouched, so the validators still reject wrong types in JSON.
 */
export const ToInt = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' && /^-?\d{1,15}$/.test(value.trim()) ? Number(value.trim()) : value,
  );

export const ToBool = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => {
    if (value === 'true' || value === 'True') return true;
    if (value === 'false' || value === 'False') return false;
    return value;
  });

export const Trim = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) => (typeof value === 'string' ? value.trim() : value));

export const Lowercase = (): PropertyDecorator =>
  Transform(({ value }: { value: unknown }) =>
    typeof value === 'string' ? value.trim().toLowerCase() : value,
  );
