import { applyDecorators } from '@nestjs/common';
import { ApiProperty } from '@nestjs/swagger';
import {
  ArrayMaxSize,
  IsArray,
  IsBoolean,
  IsDefined,
  IsEmail,
  IsIn,
  IsInt,
  IsISO8601,
  IsString,
  Matches,
  Max,
  MaxLength,
  Min,
  MinLength,
  ValidateIf,
} from 'class-validator';
import { Lowercase, ToBool, ToInt, Trim } from '../transforms/input.transforms';

/**
 * Field decorators for request DTOs: one place for DRF-style messages, presence rules and the
 * OpenAPI description. `required` fields must be present; optional ones are validated when present;
 * `nullable` ones also accept null (to clear the value).
 */
interface Presence {
  /** Nullable fields are never required: null clears them. */
  required?: boolean;
  nullable?: boolean;
  description?: string;
}

function presence(options: Presence): PropertyDecorator[] {
  if (options.nullable) return [ValidateIf((_object, value) => value !== null && value !== undefined)];
  if (options.required) return [IsDefined({ message: 'This field is required.' })];
  return [
    ValidateIf((_object, value) => value !== undefined),
    IsDefined({ message: 'This field may not be null.' }),
  ];
}

export function StringField(
  options: Presence & {
    max: number;
    min?: number;
    pattern?: RegExp;
    patternMessage?: string;
    trim?: boolean;
  },
): PropertyDecorator {
  const decorators = [
    ApiProperty({
      type: String,
      required: Boolean(options.required),
      nullable: Boolean(options.nullable),
      maxLength: options.max,
      minLength: options.min,
      pattern: options.pattern?.source,
      description: options.description,
    }),
    ...(options.trim === false ? [] : [Trim()]),
    ...presence(options),
    IsString({ message: 'Not a valid string.' }),
    MaxLength(options.max, { message: `Ensure this field has no more than ${options.max} characters.` }),
  ];
  if (options.min !== undefined) {
    decorators.push(
      MinLength(options.min, { message: `Ensure this field has at least ${options.min} characters.` }),
    );
  }
  if (options.pattern) {
    decorators.push(Matches(options.pattern, { message: options.patternMessage ?? 'Enter a valid value.' }));
  }
  return applyDecorators(...decorators);
}

/** An e-mail address; the empty string means "none". */
export function EmailField(options: Presence = {}): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      type: String,
      format: 'email',
      required: Boolean(options.required),
      nullable: Boolean(options.nullable),
    }),
    Lowercase(),
    ...presence(options),
    IsString({ message: 'Not a valid string.' }),
    MaxLength(254, { message: 'Ensure this field has no more than 254 characters.' }),
    ValidateIf((_object, value) => value !== ''),
    IsEmail({}, { message: 'Enter a valid email address.' }),
  );
}

export function IntField(
  options: Presence & { min: number; max: number; choices?: number[] },
): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      type: Number,
      required: Boolean(options.required),
      nullable: Boolean(options.nullable),
      minimum: options.min,
      maximum: options.max,
      enum: options.choices,
      description: options.description,
    }),
    ToInt(),
    ...presence(options),
    IsInt({ message: 'A valid integer is required.' }),
    Min(options.min, { message: `Ensure this value is greater than or equal to ${options.min}.` }),
    Max(options.max, { message: `Ensure this value is less than or equal to ${options.max}.` }),
    ...(options.choices
      ? [IsIn(options.choices, { message: `Must be one of: ${options.choices.join(', ')}.` })]
      : []),
  );
}

export function BoolField(options: Presence = {}): PropertyDecorator {
  return applyDecorators(
    ApiProperty({ type: Boolean, required: Boolean(options.required), description: options.description }),
    ToBool(),
    ...presence(options),
    IsBoolean({ message: 'Must be a valid boolean.' }),
  );
}

/** An ISO-8601 datetime; converted to a Date after validation. */
export function DateTimeField(options: Presence = {}): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      type: String,
      format: 'date-time',
      required: Boolean(options.required),
      nullable: Boolean(options.nullable),
    }),
    ...presence(options),
    IsString({ message: 'Datetime has wrong format.' }),
    IsISO8601({ strict: true }, { message: 'Datetime has wrong format. Use ISO-8601.' }),
  );
}

/** One of a fixed set of strings (DRF ChoiceField). */
export function ChoiceField(options: Presence & { choices: readonly string[] }): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      type: String,
      enum: options.choices,
      required: Boolean(options.required),
      description: options.description,
    }),
    ...presence(options),
    IsIn(options.choices, {
      message: ({ value }) => `"${String(value)}" is not a valid choice (${options.choices.join(', ')}).`,
    }),
  );
}

/** A list of short strings (uids, usernames), bounded in length and item size. */
export function StringListField(
  options: Presence & { maxItems: number; itemMax: number },
): PropertyDecorator {
  return applyDecorators(
    ApiProperty({
      type: [String],
      required: Boolean(options.required),
      maxItems: options.maxItems,
      description: options.description,
    }),
    ...presence(options),
    IsArray({ message: 'must be a list' }),
    ArrayMaxSize(options.maxItems, {
      message: `Ensure this list has no more than ${options.maxItems} items.`,
    }),
    IsString({ each: true, message: 'Not a valid string.' }),
    MaxLength(options.itemMax, {
      each: true,
      message: `Ensure each item has no more than ${options.itemMax} characters.`,
    }),
  );
}
