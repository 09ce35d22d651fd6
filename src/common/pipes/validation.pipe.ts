import { ValidationPipe, type ValidationError } from '@nestjs/common';
import { DomainError } from '../errors/domain-error';

type DrfErrors = { [field: string]: string[] | DrfErrors };

/** Turns class-validator's tree into DRF's shape: `{"user": {"username": ["…"]}}`. */
export function toDrfErrors(errors: ValidationError[]): DrfErrors {
  const body: DrfErrors = {};
  for (const error of errors) {
    if (error.children && error.children.length > 0) {
      body[error.property] = toDrfErrors(error.children);
    } else {
      const messages = Object.values(error.constraints ?? {});
      // The first message is enough and matches DRF, which stops at the first failed rule per field.
      body[error.property] = messages.length > 0 ? [messages[messages.length - 1]] : ['Invalid value.'];
    }
  }
  return body;
}

/**
 * The one global pipe: unknown and read-only fields are dropped (DRF behaviour, so clients may send whole
 * objects back), types are checked strictly, and errors are 400 with DRF bodies.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: false,
    transform: true,
    transformOptions: { enableImplicitConversion: false },
    validationError: { target: false, value: false },
    stopAtFirstError: true,
    exceptionFactory: (errors) => new DomainError('common.validation', 400, toDrfErrors(errors)),
  });
}
